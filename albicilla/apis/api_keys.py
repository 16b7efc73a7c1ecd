"""The API key a request carries, by the headers its clients use: never stored, only hashed."""

from __future__ import annotations

from collections.abc import Mapping


def bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def header_key(headers: Mapping[str, str], query: bytes = b"") -> str:
    """OpenAI's and Anthropic's clients: `x-api-key`, else the bearer token."""
    return headers.get("x-api-key", "").strip() or bearer_token(headers.get("Authorization", ""))
