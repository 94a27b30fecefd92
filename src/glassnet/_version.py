"""The package version, in one place (model files record it)."""

__version__ = "0.1.0"
