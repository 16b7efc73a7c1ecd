"""The Redactor: every secret in every string of a JSON value becomes `[REDACTED:<kind>]`.

It works on parsed values, never on JSON text: a string is redacted as the text it is (so a
secret written with `\\u` escapes or a PEM block's `\\n` in the log is found whole), and a tool
call's `arguments`, a JSON document inside a string, is parsed, redacted and written back only
when something in it changed. Redaction is a pure function of the value (the e-mail pseudonyms of
one key included), so a history resent on every call is redacted the same way every time.
"""

from __future__ import annotations

import json
import re
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

from .assignments import build_assignment_detector
from .detectors import Detector, aws_secret_near_key_id, build_detectors
from .emails import EmailPseudonyms
from .prefilter import matches_at, needle_finder

# No detector matches fewer characters than this (an e-mail address: `a@b.cd`).
_SHORTEST = 6
# How far from an AWS key id its secret is looked for (a credentials file, an `export` pair).
_AWS_WINDOW = 300
# Results for long strings are kept (least recently used out first): an agent resends its whole
# history on every call, so the proxy sees each long message again and again.
_CACHED_LENGTH = 24
CACHE_CHARS = 8_000_000
_encode = json.JSONEncoder(ensure_ascii=False).encode
# (generic, start, end, kind) of one detected secret.
_Found = tuple[bool, int, int, str]
# A cache key: a text, or ("arguments", text) for tool-call arguments.
_Key = str | tuple[str, str]
_Redact = Callable[[str], tuple[str, tuple[str, ...]]]


def _name_before(text: str, match: re.Match[str], detector: Detector) -> str:
    """The identifier a keyword match is part of: `DB_PASSWORD`, `self.api_key`."""
    start = match.start()
    limit = max(0, start - 64)
    while start > limit and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
        start -= 1
    return text[start : match.end(detector.name_group)]


class Redactor:
    """Built once (patterns compiled, detect-secrets loaded), then used for every value.

    `counts` holds how many secrets of each kind were replaced (and `email` pseudonyms written)
    since it was built.
    """

    def __init__(
        self,
        *,
        secrets: bool = True,
        email_key: bytes | None = None,
        cache_chars: int = CACHE_CHARS,
    ) -> None:
        self.counts: Counter[str] = Counter()
        self._detectors: list[Detector] = []
        self._secret_key: re.Pattern[str] | None = None
        if secrets:
            assignment, self._secret_key = build_assignment_detector()
            self._detectors = [*build_detectors(), assignment]
            self._check_value = assignment.accept
        self._present = needle_finder({n for d in self._detectors for n in d.needles})
        # For the rare text whose lower-casing changes its length (offsets would not match).
        self._case_insensitive = {
            id(d): re.compile(d.pattern.pattern, d.pattern.flags | re.IGNORECASE)
            for d in self._detectors
            if d.on_lowered
        }
        self._aws_secret = aws_secret_near_key_id()
        self._emails = None if email_key is None else EmailPseudonyms(email_key)
        self._cache: OrderedDict[_Key, tuple[str, tuple[str, ...]]] = OrderedDict()
        self._cache_chars = 0
        self._cache_limit = cache_chars
        self._secret_names: dict[str, bool] = {}  # dict key -> whether it names a secret

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
        return self._cached(text, text, self._redact_text)

    def _cached(self, key: _Key, text: str, redact: _Redact) -> str:
        """`redact(text)`, remembered under `key` for long texts; its kinds counted either way."""
        if len(text) < _CACHED_LENGTH or not self._cache_limit:
            result, kinds = redact(text)
        else:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            else:
                hit = self._cache[key] = redact(text)
                self._cache_chars += len(text) + len(hit[0])
                while self._cache_chars > self._cache_limit:
                    old, (old_result, _) = self._cache.popitem(last=False)
                    self._cache_chars -= len(old if type(old) is str else old[1]) + len(old_result)
            result, kinds = hit
        if kinds:
            self.counts.update(kinds)
        return result

    def _redact_text(self, text: str) -> tuple[str, tuple[str, ...]]:
        """The redacted text and the kinds replaced, in order."""
        kinds: tuple[str, ...] = ()
        if self._detectors:
            spans = self._find_secrets(text)
            if spans:
                text = self._replace(text, spans)
                kinds = tuple(kind for _, _, kind in spans)
        if self._emails is not None:
            text, count = self._emails.replace(text)
            kinds += ("email",) * count
        return text, kinds

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
        if self._secret_key is None or type(key) is not str:
            return False
        names = self._secret_names.get(key)
        if names is None:
            if len(self._secret_names) > 10_000:  # keys are a small vocabulary; bound it anyway
                self._secret_names.clear()
            names = self._secret_names[key] = self._secret_key.fullmatch(key) is not None
        return names and self._check_value.accepts_whole_string(value)  # type: ignore[union-attr]

    def _redact_arguments(self, text: str) -> str:
        """Tool-call arguments: redact inside the JSON, so they stay valid JSON.

        Cached like text: an edit tool's arguments hold a whole file, resent on every call.
        """
        return self._cached(("arguments", text), text, self._redact_arguments_uncached)

    def _redact_arguments_uncached(self, text: str) -> tuple[str, tuple[str, ...]]:
        if text.lstrip()[:1] not in ("{", "["):
            return self._redact_text(text)
        try:
            parsed = json.loads(text)
        except ValueError:
            return self._redact_text(text)
        # The walk counts into self.counts: give it a fresh one, so the kinds found here can be
        # cached with the result (and counted by the caller), then put the run's counter back.
        outer, self.counts = self.counts, Counter()
        try:
            new = self.redact_value(parsed)
        finally:
            inner, self.counts = self.counts, outer
        return (text if new is parsed else _encode(new)), tuple(inner.elements())

    def _find_secrets(self, text: str) -> list[tuple[int, int, str]]:
        lowered = text.lower()
        present = self._present(lowered)
        if not present:
            return []
        found: list[_Found] = []
        same_length = len(lowered) == len(text)
        for detector in self._detectors:
            if present.isdisjoint(detector.needles):
                continue
            if not detector.on_lowered:
                matches = detector.pattern.finditer(text)
            elif same_length:
                needles = present.intersection(detector.needles)
                matches = matches_at(detector.pattern, lowered, needles)
            else:
                matches = self._case_insensitive[id(detector)].finditer(text)
            for match in matches:
                group = match.lastindex or 0 if detector.group == -1 else detector.group
                start, end = match.span(group)
                if start < 0 or (detector.accept and not detector.accept(text[start:end])):
                    continue
                if detector.name_ok and not detector.name_ok(_name_before(text, match, detector)):
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
            position = end
        pieces.append(text[position:])
        return "".join(pieces)
