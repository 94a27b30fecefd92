"""The ``glassnet`` command line: one module per command group, plus how commands print."""

from glassnet.cli.app import main

__all__ = ["main"]
