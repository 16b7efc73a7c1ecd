"""Secrets named by a keyword (`PASSWORD=...`, `"api_key": "..."`), and a check that keeps code out.

The keywords are detect-secrets' KeywordDetector list (plus a few token names); its own patterns
read one source line at a time and take the rest of the line as the value, so they would eat prose
in a multi-line message. Here the value is one token, and detect-secrets' heuristic filters plus a
few more reject what is code rather than a secret: `password: str`, `secret=get_secret()`,
`api_key=self.api_key`, `${DB_PASSWORD}`, `PWD=/home/me`.
"""

from __future__ import annotations

import re

from .detectors import Detector

# Token names detect-secrets' keyword list lacks; a bare `token` is far too common in code.
_EXTRA_KEYWORDS = ("access_?token", "auth_?token", "refresh_?token", "api_?token", "bot_?token")
# Values that are a type, a literal or a placeholder, not a secret.
_NOT_SECRETS = frozenset(
    "str string bytes int bool boolean none null nil true false undefined optional required "
    "any object secretstr hidden redacted masked empty default".split()
)
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")
# Names that point at a secret rather than hold one: `secretName: tls-cert`, `SECRET_ARN=...`.
_REFERENCE_SUFFIXES = (
    "name id arn ref path file env var length policy type manager store provider url dir"
).split()
# Placeholders in examples and templates: `your-api-key-here`, `sk-example`, `xxxx`.
_PLACEHOLDER = re.compile(r"(?i)^(?:your|my[_-])|example|placeholder|xxxx|dummy|changeme")
_PATH = re.compile(r"(?:/|~|\.\.?/|\\|[A-Za-z]:\\)")
_CODE_PUNCTUATION = frozenset("()[]{}<>")
MIN_LENGTH = 4


def _keywords() -> list[str]:
    from detect_secrets.plugins.keyword import DENYLIST

    # `api-key` and `api_key` alike (an HTTP header name, a CLI flag).
    return [k.replace("_?", "[_-]?") for k in (*DENYLIST, *_EXTRA_KEYWORDS)]


def build_assignment_detector() -> tuple[Detector, re.Pattern[str]]:
    """The `NAME = value` detector, and the pattern a name must match to name a secret.

    The pattern is anchored on a short needle inside the keyword (cheap to search for); the
    whole name around it, `DB_PASSWORD` or `self.api_key`, is then checked against the keywords.
    """
    keyword = "(?:" + "|".join(_keywords()) + ")"
    not_reference = "".join(f"(?<!{suffix})" for suffix in _REFERENCE_SUFFIXES)
    name = re.compile(rf"(?i)[\w.-]*{keyword}[\w.-]*{not_reference}")
    needles = ("key", "pass", "pwd", "secret", "contras", "token")
    pattern = re.compile(
        rf"((?:{'|'.join(needles)})[\w-]*)[\]'\"]{{0,2}}[ \t]*(?::=|=>|[:=](?!=))[ \t]*"
        rf"(?:([\"'`])([^\"'`\s]{{{MIN_LENGTH},200}})\2|([^\s\"'`,;]{{{MIN_LENGTH},200}}))"
    )
    detector = Detector(
        "secret_assignment",
        pattern,
        needles,
        group=-1,  # the quoted or the bare value, whichever matched
        accept=_ValueCheck(re.compile(rf"(?i){keyword}")),
        generic=True,
        on_lowered=True,
        name_ok=lambda text: name.fullmatch(text) is not None,
        name_group=1,
    )
    return detector, name


class _ValueCheck:
    """Whether the value after a secret-sounding name is a secret rather than code or prose."""

    def __init__(self, keyword: re.Pattern[str]) -> None:
        from detect_secrets.filters import heuristic

        self._keyword = keyword
        self._library_filters = (
            heuristic.is_templated_secret,
            heuristic.is_prefixed_with_dollar_sign,
            heuristic.is_not_alphanumeric_string,
        )

    def __call__(self, value: str) -> bool:
        if len(value) < MIN_LENGTH or value.startswith("[REDACTED:"):
            return False
        if any(f(value) for f in self._library_filters):
            return False
        if value.lower().rstrip(";") in _NOT_SECRETS or "://" in value:
            return False
        if _PLACEHOLDER.search(value):
            return False
        if _CODE_PUNCTUATION.intersection(value) or _PATH.match(value) or value[0] in "%@&*":
            return False
        if _DOTTED.fullmatch(value):  # self.password, process.env.API_KEY
            return False
        # password=password, api_key=OPENAI_API_KEY, secret=db_secret: a name, not a value.
        return not (
            _IDENTIFIER.fullmatch(value)
            and self._keyword.search(value)
            and ("_" in value or value.isalpha())
        )

    def accepts_whole_string(self, value: str) -> bool:
        """A dict value under a secret-sounding key: one token that passes the same checks."""
        return not any(c.isspace() for c in value) and self(value)
