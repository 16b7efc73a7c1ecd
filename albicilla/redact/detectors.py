"""The secret detectors: detect-secrets' plugin regexes, plus the formats that library lacks.

Each detector is a compiled pattern with the literals one of which must occur in the text
(lower-cased) before the pattern runs at all, which keeps the common case, a string with no
secret, to a few substring searches. detect-secrets is imported only by `build_detectors`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# A token found by a fixed-length pattern often goes on (newer, longer key formats): the
# redaction extends over these characters so no tail of the secret is left behind.
KEY_CHARS = "A-Za-z0-9_-"
# Not preceded by a character of a longer token, so a key shape inside a base64 blob or an
# identifier is not taken for a key.
_LEFT = r"(?<![A-Za-z0-9_+/-])"


@dataclass(frozen=True)
class Detector:
    kind: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...]  # lower-case literals; the pattern runs only when one is present
    group: int = 0  # the group that is the secret (0: the whole match)
    tail: re.Pattern[str] | None = None  # characters that extend the secret past the match
    accept: Callable[[str], bool] | None = None  # a last check on the secret itself
    generic: bool = False  # loses to a specific detector where both match
    # The pattern is all lower case, starts with one of the needles, and is matched on the
    # lower-cased text only where a needle is: a case-insensitive search of the whole text
    # is ten times slower in `re`, and these run on every string with a keyword in it.
    on_lowered: bool = False
    # A check on the whole name before the match (`DB_PASSWORD` in `DB_PASSWORD=...`), which
    # ends where group `name_group` ends.
    name_ok: Callable[[str], bool] | None = None
    name_group: int = 0


def _tail(chars: str) -> re.Pattern[str]:
    return re.compile(f"[{chars}]*")


def _library_detectors() -> list[Detector]:
    """Detectors whose patterns (and checks) come from detect-secrets' plugins."""
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.basic_auth import BasicAuthDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.npm import NpmDetector
    from detect_secrets.plugins.openai import OpenAIDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.stripe import StripeDetector

    def bounded(pattern: re.Pattern[str]) -> re.Pattern[str]:
        return re.compile(_LEFT + "(?:" + pattern.pattern + ")", pattern.flags)

    key_tail = _tail(KEY_CHARS)
    aws_id, aws_quoted_secret = AWSKeyDetector.denylist
    gitlab_needles = ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "gr1348941", "glcbt-")
    gitlab_needles += ("glimt-", "glptt-", "glagent-", "gloas-")
    slack_token, slack_webhook = SlackDetector.denylist
    return [
        Detector("openai_key", bounded(OpenAIDetector.denylist[0]), ("t3blbkfj",), tail=key_tail),
        Detector(
            "github_token",
            bounded(GitHubTokenDetector.denylist[0]),
            ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
            tail=key_tail,
        ),
        *(
            Detector("gitlab_token", bounded(p), gitlab_needles, tail=key_tail)
            for p in GitLabTokenDetector.denylist
        ),
        Detector(
            "slack_token",
            bounded(slack_token),
            tuple(f"xox{c}-" for c in "abpors"),
            tail=key_tail,
        ),
        Detector("slack_webhook", slack_webhook, ("hooks.slack.com",), tail=key_tail),
        Detector("stripe_key", bounded(StripeDetector.denylist[0]), ("k_live_",), tail=key_tail),
        Detector(
            "aws_access_key_id",
            bounded(aws_id),
            ("a3t", "abia", "acca", "akia", "asia"),
            tail=_tail("A-Z0-9"),
        ),
        Detector("aws_secret_access_key", aws_quoted_secret, ("aws",), group=1),
        Detector(
            "jwt",
            bounded(JwtTokenDetector.denylist[0]),
            ("eyj",),
            tail=_tail("=" + KEY_CHARS),
            accept=JwtTokenDetector.is_formally_valid,
        ),
        Detector("url_password", BasicAuthDetector.denylist[0], ("://",), group=1),
        *(
            Detector("pypi_token", bounded(p), ("pypi-ag",), tail=key_tail)
            for p in PypiTokenDetector.denylist
        ),
        Detector("sendgrid_key", bounded(SendGridDetector.denylist[0]), ("sg.",), tail=key_tail),
        # The rest of the .npmrc line is the token.
        Detector("npm_token", NpmDetector.denylist[0], (":_authtoken",), group=1),
        Detector("azure_storage_key", AzureStorageKeyDetector.denylist[0], ("accountkey=",)),
    ]


def _private_key_detector() -> Detector:
    """The whole block, from detect-secrets' list of private-key headers to the END line.

    A block cut short (a truncated tool output) is redacted up to the end of its base64 body;
    `\\n` is part of the body so a block inside JSON-encoded text is covered too.
    """
    from detect_secrets.plugins.private_key import PrivateKeyDetector

    headers = [p.pattern for p in PrivateKeyDetector.denylist]
    pem = [h.removeprefix("BEGIN ") for h in headers if h.startswith("BEGIN ")]
    block = (
        r"-----BEGIN (?P<label>" + "|".join(map(re.escape, pem)) + r")-----"
        r"(?:.*?-----END (?P=label)-----|[A-Za-z0-9+/=\s:,.\\-]*)"
    )
    putty = r"PuTTY-User-Key-File-\d:.*?(?:Private-MAC: *[0-9a-fA-F]+|\Z)"
    pattern = re.compile(f"{block}|{putty}", re.DOTALL)
    return Detector("private_key", pattern, ("private key", "putty-user-key-file"))


def _added_detectors() -> list[Detector]:
    """Key formats detect-secrets 1.5 does not know, each from its issuer's documented prefix."""
    key_tail = _tail(KEY_CHARS)

    def key(kind: str, regex: str, *needles: str) -> Detector:
        return Detector(kind, re.compile(_LEFT + regex), needles, tail=key_tail)

    return [
        key("anthropic_key", r"sk-ant-[a-z]{2,8}\d\d-[A-Za-z0-9_-]{32,}", "sk-ant-"),
        # Project, service-account and admin keys need not carry the legacy T3BlbkFJ marker.
        key(
            "openai_key",
            r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{32,}",
            "sk-proj-",
            "sk-svcacct-",
            "sk-admin-",
        ),
        key("google_api_key", r"AIza[0-9A-Za-z_-]{35}", "aiza"),
        key("google_oauth_token", r"ya29\.[0-9A-Za-z_-]{30,}", "ya29."),
        Detector(
            "huggingface_token",
            re.compile(_LEFT + r"hf_[A-Za-z0-9]{34,}"),
            ("hf_",),
            tail=key_tail,
            accept=_mixed_case,
        ),
        key("github_token", r"github_pat_[A-Za-z0-9_]{60,}", "github_pat_"),
        key("stripe_key", r"(?:sk|rk)_test_[0-9a-zA-Z]{24,}", "k_test_"),
        key("npm_token", r"npm_[A-Za-z0-9]{36}", "npm_"),
        # ~/.aws/credentials and .env files write the secret unquoted.
        Detector(
            "aws_secret_access_key",
            re.compile(
                r"aws_?secret_?(?:access_?)?key[\"']?[ \t]*[:=][ \t]*[\"']?"
                r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
            ),
            ("aws",),
            group=1,
            on_lowered=True,
        ),
        Detector(
            "bearer_token",
            re.compile(r"bearer(?<![a-z0-9_]bearer)[ \t]+([A-Za-z0-9._~+/-]{16,}=*)"),
            ("bearer",),
            group=1,
            accept=_has_digit,
            on_lowered=True,
        ),
        Detector(
            "basic_auth",
            re.compile(
                r"authorization(?<![a-z0-9_]authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
                r"basic[ \t]+([A-Za-z0-9+/]{8,}=*)"
            ),
            ("authorization",),
            group=1,
            on_lowered=True,
        ),
    ]


def aws_secret_near_key_id() -> re.Pattern[str]:
    """A 40-character AWS secret access key shape, looked for only next to a key id."""
    return re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _mixed_case(secret: str) -> bool:
    return secret.lower() != secret and secret.upper() != secret


def _has_digit(secret: str) -> bool:
    return any(c.isdigit() for c in secret)


def build_detectors() -> list[Detector]:
    """Every secret detector, specific ones first; the keyword one is in `assignments`."""
    return [*_library_detectors(), _private_key_detector(), *_added_detectors()]
