"""The errors a user can cause; the CLI prints their message on one line and exits 2."""


class GlassnetError(Exception):
    """Base class of every error glassnet raises on purpose."""


class ConfigError(GlassnetError, ValueError):
    """A setting is invalid (unknown name, negative rate, bad layer size, ...)."""


class DataError(GlassnetError, ValueError):
    """Input data is unusable (NaN, wrong shape, missing column, ...)."""


class ModelFileError(GlassnetError, ValueError):
    """A model file is missing, corrupted, tampered with or does not match its config."""


class DivergenceError(GlassnetError, FloatingPointError):
    """The training loss became NaN or infinite."""


class ExportError(GlassnetError, ValueError):
    """A model cannot be exported (a layer with no mapping, a missing optional package)."""


class DataWarning(UserWarning):
    """Something in the data the user should know about (a dropped column, an unseen
    category, a fallback encoding); the CLI prints it as one line on stderr."""
