"""What the build's hooks share: filling a placeholder of mkdocs.yml's nav with pages they
generate (mkdocs puts this folder on the import path while it loads a hook)."""

from __future__ import annotations


def replace(nav: list, placeholder: str, entries: list) -> None:
    """Put ``entries`` where the nav of mkdocs.yml holds ``placeholder``."""
    for item in nav:
        if isinstance(item, dict):
            for key, value in item.items():
                if value == placeholder:
                    item[key] = entries
                elif isinstance(value, list):
                    replace(value, placeholder, entries)
