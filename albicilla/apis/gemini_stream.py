"""Gemini's stream chunks merged into the response `generateContent` would have returned, the
usual chunk read at once (the bytes of either kind of stream are cut into chunks by `sse.py` or
`json_array.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..jsonio import UNSET, Struct, UnsetType, native_reader

# Candidate fields taken from the last chunk that has them (docs/design.md section 14); every other
# candidate field, and every response field, is the last value sent.
_TEXT_KEYS = frozenset({"text", "thought", "thoughtSignature"})


class _UsualPart(Struct, forbid_unknown_fields=True, gc=False):
    text: str


class _UsualContent(Struct, forbid_unknown_fields=True, gc=False):
    parts: tuple[_UsualPart]
    role: Any = UNSET


class _UsualCandidate(Struct, forbid_unknown_fields=True, gc=False):
    content: _UsualContent
    index: int | UnsetType = UNSET


class UsualChunk(Struct, forbid_unknown_fields=True, gc=False):
    """The usual chunk: one candidate, its content one plain text part (no thought, no
    signature), and only these response fields; any other shape is refused with ValueError."""

    candidates: tuple[_UsualCandidate]
    usageMetadata: Any = UNSET
    modelVersion: Any = UNSET
    responseId: Any = UNSET
    createTime: Any = UNSET


read_usual_chunk = native_reader(UsualChunk)


class ResponseMerger:
    """GenerateContentResponse chunks in, the response `generateContent` would have returned out.

    Candidates are merged by `index` (its position in the chunk when absent). Parts are appended
    in order; a text part joins the text part before it when both are plain text of the same
    kind (`thought` or not) and the earlier one has no `thoughtSignature` yet (a signature, even
    on a trailing empty part, then stays on the joined part). Every other part is kept whole.
    """

    def __init__(self, note: Callable[[str], None]) -> None:
        self.note = note
        self._top: dict[str, Any] = {}
        self._candidates: dict[int, dict[str, Any]] = {}
        self._parts: dict[int, list[dict[str, Any]]] = {}
        self._roles: dict[int, Any] = {}
        # Per candidate whose last part is plain text that later text joins: the text sent for
        # it since (`add_usual`), joined into it when the parts are read or another part comes.
        self._runs: dict[int, list[str]] = {}
        self._chunks = 0

    @property
    def chunks(self) -> int:
        return self._chunks

    def candidates(self) -> dict[int, dict[str, Any]]:
        return self._candidates

    def add(self, chunk: dict[str, Any]) -> None:
        self._chunks += 1
        for key, value in chunk.items():
            if key != "candidates":
                self._top[key] = value
        candidates = chunk.get("candidates")
        if candidates is None:
            return
        if not isinstance(candidates, list):
            self.note("candidates is not a list: ignored")
            return
        for position, candidate in enumerate(candidates):
            if not isinstance(candidate, dict):
                self.note("a candidate that is not an object ignored")
                continue
            index = candidate.get("index", position)
            if not isinstance(index, int):
                index = position
            self._add_candidate(index, candidate)

    def add_usual(self, chunk: UsualChunk) -> bool:
        """The usual chunk, as `add` would take it, when that changes no order: its response
        fields and candidate seen before; False (nothing taken) otherwise."""
        top = self._top
        usage, version = chunk.usageMetadata, chunk.modelVersion
        response_id, created = chunk.responseId, chunk.createTime
        if (
            (usage is not UNSET and "usageMetadata" not in top)
            or (version is not UNSET and "modelVersion" not in top)
            or (response_id is not UNSET and "responseId" not in top)
            or (created is not UNSET and "createTime" not in top)
        ):
            return False
        candidate = chunk.candidates[0]
        index = 0 if candidate.index is UNSET else candidate.index
        held = self._candidates.get(index)
        if held is None or (candidate.index is not UNSET and "index" not in held):
            return False
        self._chunks += 1
        if candidate.index is not UNSET:
            held["index"] = index  # (the same number, perhaps held as True before)
        if usage is not UNSET:
            top["usageMetadata"] = usage
        if version is not UNSET:
            top["modelVersion"] = version
        if response_id is not UNSET:
            top["responseId"] = response_id
        if created is not UNSET:
            top["createTime"] = created
        role = candidate.content.role
        if role is not UNSET and role and index not in self._roles:
            self._roles[index] = role
        text = candidate.content.parts[0].text
        run = self._runs.get(index)
        if run is None:
            parts = self._parts[index]
            if parts and _plain_text(parts[-1]):
                run = self._runs[index] = []
            else:
                parts.append({"text": text})
                self._runs[index] = []
                return True
        run.append(text)
        return True

    def _flush(self, index: int) -> None:
        """The text `add_usual` held for candidate `index`'s last part, joined into it."""
        run = self._runs.pop(index, None)
        if run:
            self._parts[index][-1]["text"] += "".join(run)

    def _add_candidate(self, index: int, candidate: dict[str, Any]) -> None:
        held = self._candidates.setdefault(index, {})
        parts = self._parts.setdefault(index, [])
        for key, value in candidate.items():
            if key == "content":
                self._add_content(index, value, parts)
            else:
                held[key] = value

    def _add_content(self, index: int, content: Any, parts: list[dict[str, Any]]) -> None:
        if not isinstance(content, dict):
            self.note("candidate content that is not an object ignored")
            return
        role = content.get("role")
        if role and index not in self._roles:
            self._roles[index] = role
        new = content.get("parts")
        self._flush(index)
        for part in new if isinstance(new, list) else ():
            if not isinstance(part, dict):
                self.note("a part that is not an object ignored")
                continue
            last = parts[-1] if parts else None
            if last is not None and _joins(last, part):
                last["text"] += part["text"]
                if "thoughtSignature" in part:
                    last["thoughtSignature"] = part["thoughtSignature"]
            else:
                parts.append(dict(part))

    def response(self) -> dict[str, Any] | None:
        """A fresh snapshot; None before the first chunk."""
        if not self._chunks:
            return None
        for index in list(self._runs):
            self._flush(index)
        result: dict[str, Any] = {}
        if self._candidates:
            candidates = []
            for index in sorted(self._candidates):
                candidate: dict[str, Any] = {}
                if index in self._roles or self._parts[index]:
                    content: dict[str, Any] = {"parts": [dict(p) for p in self._parts[index]]}
                    if index in self._roles:
                        content["role"] = self._roles[index]
                    candidate["content"] = content
                candidate.update(self._candidates[index])
                candidates.append(candidate)
            result["candidates"] = candidates
        result.update(self._top)
        return result


def _plain_text(last: dict[str, Any]) -> bool:
    """Plain text (no thought) that a plain text part sent next joins: `_joins` for it."""
    return (
        isinstance(last.get("text"), str)
        and last.keys() <= _TEXT_KEYS
        and "thoughtSignature" not in last
        and not last.get("thought")
    )


def _joins(last: dict[str, Any], part: dict[str, Any]) -> bool:
    """`part` continues the text of `last`: both plain text of one kind, `last` not signed."""
    return (
        isinstance(last.get("text"), str)
        and isinstance(part.get("text"), str)
        and last.keys() <= _TEXT_KEYS
        and part.keys() <= _TEXT_KEYS
        and "thoughtSignature" not in last
        and bool(last.get("thought")) == bool(part.get("thought"))
    )
