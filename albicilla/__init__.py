"""Albicilla: a logging proxy for LLM agents' APIs, and the tools that read its log tree.

`proxy/` captures, `apis/` knows each logged API's wire format, `logs/` owns the log tree,
`conv/` turns logs into datasets, `view/` shows them (docs/development.md, "Layout").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from .config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; without settings, read them from the environment.

    Flask and requests are imported here, not at package import, so the converter
    (`albicilla.conv`) starts without them.
    """
    from .proxy.app import build_app

    return build_app(settings)
