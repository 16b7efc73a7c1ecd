"""Stable e-mail pseudonyms: the same address always becomes the same `user-<hash>@example.com`.

The hash is an HMAC under a key, so a pseudonym cannot be reversed by hashing guessed addresses
without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_EMAIL = re.compile(
    r"(?<![\w.%+-])([A-Za-z0-9._%+-]+)@((?:[A-Za-z0-9-]+\.)+([A-Za-z]{2,24}))(?![\w-])"
)
# `logo@2x.png` is a file, `git@github.com` an SSH login; neither is a person.
_NOT_TLDS = frozenset("png jpg jpeg gif svg webp ico js mjs ts tsx css json md txt py".split())
_NOT_PEOPLE = frozenset(("git",))
_PSEUDONYM = re.compile(r"user-[0-9a-f]{12}@example\.com")


class EmailPseudonyms:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._known: dict[str, str] = {}

    def replace(self, text: str) -> tuple[str, int]:
        """The text with every address replaced, and how many were."""
        if "@" not in text:
            return text, 0
        count = 0

        def pseudonym(match: re.Match[str]) -> str:
            nonlocal count
            address = match.group()
            if (
                match.group(3).lower() in _NOT_TLDS
                or match.group(1).lower() in _NOT_PEOPLE
                or _PSEUDONYM.fullmatch(address)
            ):
                return address
            count += 1
            return self.pseudonym(address)

        return _EMAIL.sub(pseudonym, text), count

    def pseudonym(self, address: str) -> str:
        # Case does not make another mailbox in practice, so it must not make another person.
        key = address.lower()
        known = self._known.get(key)
        if known is None:
            digest = hmac.new(self._key, key.encode("utf-8"), hashlib.sha256).hexdigest()
            known = self._known[key] = f"user-{digest[:12]}@example.com"
        return known
