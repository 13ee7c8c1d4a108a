"""Sphinx extension: each page's scripts once, in the order they must run.

Sphinx 7.4 lists an inline script that an extension adds after the builder starts twice: once as
added (file name ``None``) and once more when it re-reads its registry before writing (file name
``""``), so the two copies do not compare equal. For sphinx-thebe's
``const THEBE_JS_URL = ...`` the second copy throws "Identifier 'THEBE_JS_URL' has already been
declared" on every page. This drops the later copy of any script already on the page.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _key(script: Any) -> tuple:
    attributes = tuple(sorted((k, str(v)) for k, v in script.attributes.items()))
    return script.filename or "", script.priority, attributes


def drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                          doctree: Any) -> None:  # fmt: skip
    """Keep the first of scripts that are the same but for ``None`` against ``""``."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        if _key(script) not in seen:
            seen.add(_key(script))
            unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict:
    # After the other extensions' handlers (default priority 500), which add per-page scripts.
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
