"""Secret redaction and e-mail pseudonyms shared by the converter and the proxy."""

from __future__ import annotations

from .redactor import Redactor

__all__ = ["Redactor"]
