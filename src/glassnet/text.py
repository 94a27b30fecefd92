"""Text that comes from data (column names, labels, cells), made safe to show.

A CSV header can hold an escape sequence that rewrites the terminal, ``[/min]`` that rich
reads as markup, ``$`` that matplotlib reads as mathematics. ``for_console`` and
``for_figure`` are the one place such text is neutralised before it is shown; HTML is
escaped by the report's own ``html.escape``.
"""

from __future__ import annotations

import re

# C0 and C1 control characters and DEL (ESC is \x1b), line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def plain(text: object) -> str:
    """``text`` with every control character shown as an escape (``\\e``, ``\\n``, ``\\x07``),
    so it prints as the characters it holds and cannot act on a terminal."""
    return _CONTROL.sub(lambda found: _NAMED.get(found[0], f"\\x{ord(found[0]):02x}"), str(text))


def for_console(text: object) -> str:
    """``text`` for a rich console: control characters escaped (``plain``) and markup
    escaped, so that ``flow [/min]`` prints literally instead of being read as a tag. (rich's
    ``escape`` doubles a final backslash, which then prints twice; it is kept single, so put
    no markup tag straight after an escaped text that ends in a backslash.)"""
    from rich.markup import escape

    shown = plain(text)
    escaped = escape(shown)
    if shown.endswith("\\") and not shown.endswith("\\\\"):
        escaped = escaped.removesuffix("\\")  # rich added one
    return escaped


def for_figure(text: object) -> str:
    """``text`` for a matplotlib label: control characters escaped and every ``$`` written
    ``\\$``, so mathtext never parses a label: ``$5``, ``a$b$`` and ``C:\\x`` print as they
    are (a backslash is only special inside mathematics, which no label can now open)."""
    return plain(text).replace("$", r"\$")
