"""The Redactor: every secret in every string of a JSON value becomes `[REDACTED:<kind>]`.

It works on parsed values, never on JSON text: a string is redacted as the text it is (so a
secret written with `\\u` escapes or a PEM block's `\\n` in the log is found whole), and a tool
call's `arguments`, a JSON document inside a string, is parsed, redacted and written back only
when something in it changed. Redaction is a pure function of the value (the e-mail pseudonyms of
one key included), so a history resent on every call is redacted the same way every time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import Counter
from typing import Any

from .assignments import build_assignment_detector
from .detectors import Detector, aws_secret_near_key_id, build_detectors

# No detector matches fewer characters than this (an e-mail address: `a@b.cd`).
_SHORTEST = 6
# How far from an AWS key id its secret is looked for (a credentials file, an `export` pair).
_AWS_WINDOW = 300
_EMAIL = re.compile(
    r"(?<![\w.%+-])([A-Za-z0-9._%+-]+)@((?:[A-Za-z0-9-]+\.)+([A-Za-z]{2,24}))(?![\w-])"
)
# `logo@2x.png` is a file, `git@github.com` an SSH login; neither is a person.
_NOT_TLDS = frozenset("png jpg jpeg gif svg webp ico js mjs ts tsx css json md txt py".split())
_NOT_PEOPLE = frozenset(("git",))
_PSEUDONYM = re.compile(r"user-[0-9a-f]{12}@example\.com")
_encode = json.JSONEncoder(ensure_ascii=False).encode
# (generic, start, end, kind) of one detected secret.
_Found = tuple[bool, int, int, str]


class Redactor:
    """Built once (patterns compiled, detect-secrets loaded), then used for every value.

    `counts` holds how many secrets of each kind were replaced (and `email` pseudonyms written)
    since it was built.
    """

    def __init__(self, *, secrets: bool = True, email_key: bytes | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self._detectors: list[Detector] = []
        self._secret_key: re.Pattern[str] | None = None
        if secrets:
            assignment, self._secret_key = build_assignment_detector()
            self._detectors = [*build_detectors(), assignment]
            self._check_value = assignment.accept
        self._needles = sorted({n for d in self._detectors for n in d.needles})
        self._aws_secret = aws_secret_near_key_id()
        self._email_key = email_key
        self._pseudonyms: dict[str, str] = {}

    def redact_value(self, value: Any) -> Any:
        """The value with its strings redacted; the same object when nothing changed."""
        kind = type(value)
        if kind is str:
            return self.redact_text(value)
        if kind is dict:
            return self._redact_dict(value)
        if kind is list:
            changed = None
            for index, item in enumerate(value):
                new = self.redact_value(item)
                if new is not item:
                    if changed is None:
                        changed = list(value)
                    changed[index] = new
            return value if changed is None else changed
        return value

    def redact_text(self, text: str) -> str:
        if len(text) < _SHORTEST:
            return text
        if self._detectors:
            spans = self._find_secrets(text)
            if spans:
                text = self._replace(text, spans)
        if self._email_key is not None and "@" in text:
            text = _EMAIL.sub(self._pseudonym, text)
        return text

    def _redact_dict(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        changed = None
        for key, value in obj.items():
            if type(value) is str:
                if key == "arguments":
                    new = self._redact_arguments(value)
                elif self._names_secret(key, value):
                    self.counts["secret_assignment"] += 1
                    new = "[REDACTED:secret_assignment]"
                else:
                    new = self.redact_text(value)
            else:
                new = self.redact_value(value)
            if new is not value:
                if changed is None:
                    changed = dict(obj)
                changed[key] = new
        return obj if changed is None else changed

    def _names_secret(self, key: Any, value: str) -> bool:
        """`{"password": "hunter2"}`: the key says what the value is."""
        return (
            self._secret_key is not None
            and type(key) is str
            and self._secret_key.fullmatch(key) is not None
            and self._check_value.accepts_whole_string(value)  # type: ignore[union-attr]
        )

    def _redact_arguments(self, text: str) -> str:
        """Tool-call arguments: redact inside the JSON, so they stay valid JSON."""
        if text.lstrip()[:1] in ("{", "["):
            try:
                parsed = json.loads(text)
            except ValueError:
                return self.redact_text(text)
            new = self.redact_value(parsed)
            return text if new is parsed else _encode(new)
        return self.redact_text(text)

    def _find_secrets(self, text: str) -> list[tuple[int, int, str]]:
        lowered = text.lower()
        present = {n for n in self._needles if n in lowered}
        if not present:
            return []
        found: list[_Found] = []
        for detector in self._detectors:
            if present.isdisjoint(detector.needles):
                continue
            for match in detector.pattern.finditer(text):
                group = match.lastindex or 0 if detector.group == -1 else detector.group
                start, end = match.span(group)
                if start < 0 or (detector.accept and not detector.accept(match.group(group))):
                    continue
                if detector.tail is not None:
                    end = detector.tail.match(text, end).end()  # type: ignore[union-attr]
                found.append((detector.generic, start, end, detector.kind))
                if detector.kind == "aws_access_key_id":
                    found.extend(self._aws_secrets_near(text, start, end))
        # Specific detectors first, then the earliest and longest; an overlapping span loses.
        found.sort(key=lambda s: (s[0], s[1], -s[2]))
        taken: list[tuple[int, int, str]] = []
        for _, start, end, kind in found:
            if all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, kind))
        taken.sort()
        return taken

    def _aws_secrets_near(self, text: str, start: int, end: int) -> list[_Found]:
        """A secret access key written next to its key id, quoted or not, named or not."""
        spans = []
        window_end = min(len(text), end + _AWS_WINDOW)
        for match in self._aws_secret.finditer(text, max(0, start - _AWS_WINDOW), window_end):
            candidate = match.group()
            # Random base64 has both cases; a git SHA (hex) or a word run has not.
            if candidate.lower() != candidate and candidate.upper() != candidate:
                spans.append((False, match.start(), match.end(), "aws_secret_access_key"))
        return spans

    def _replace(self, text: str, spans: list[tuple[int, int, str]]) -> str:
        pieces = []
        position = 0
        for start, end, kind in spans:
            pieces.append(text[position:start])
            pieces.append(f"[REDACTED:{kind}]")
            self.counts[kind] += 1
            position = end
        pieces.append(text[position:])
        return "".join(pieces)

    def _pseudonym(self, match: re.Match[str]) -> str:
        address = match.group()
        if (
            match.group(3).lower() in _NOT_TLDS
            or match.group(1).lower() in _NOT_PEOPLE
            or _PSEUDONYM.fullmatch(address)
        ):
            return address
        self.counts["email"] += 1
        key = address.lower()
        pseudonym = self._pseudonyms.get(key)
        if pseudonym is None:
            assert self._email_key is not None
            digest = hmac.new(self._email_key, key.encode("utf-8"), hashlib.sha256).hexdigest()
            pseudonym = self._pseudonyms[key] = f"user-{digest[:12]}@example.com"
        return pseudonym
