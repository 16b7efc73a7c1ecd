"""The Redactor on values: every kind found, nothing ordinary touched, JSON kept valid."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from albicilla.redact import Redactor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from redact_corpus import HARD_NEGATIVES, base64_image, planted_secrets  # noqa: E402

# Fake secrets written out by hand, each in the shape its issuer documents.
GITHUB = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"  # ghp_ + 36
ANTHROPIC = "sk-ant-api03-" + "Xy7_Kp2-" * 12 + "Q9wAA"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documentation example
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # ditto
PEM_BODY = ["MIIEowIBAAKCAQEA1b2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ", "aBcDeFgHiJ0123456789+/=="]
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END RSA PRIVATE KEY-----"


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {GITHUB} here", "token [REDACTED:github_token] here"),
        (
            f"export ANTHROPIC_API_KEY={ANTHROPIC}",
            "export ANTHROPIC_API_KEY=[REDACTED:anthropic_key]",
        ),  # noqa: E501
        (
            f"aws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}",
            "aws_access_key_id = [REDACTED:aws_access_key_id]\n"
            "aws_secret_access_key = [REDACTED:aws_secret_access_key]",
        ),
        (f"{AWS_ID} {AWS_SECRET}", "[REDACTED:aws_access_key_id] [REDACTED:aws_secret_access_key]"),
        (f"key:\n{PEM}\nafter", "key:\n[REDACTED:private_key]\nafter"),
        (
            "https://bob:hunter2pass@git.example.org/r",
            "https://bob:[REDACTED:url_password]@git.example.org/r",
        ),  # noqa: E501
        (
            "Authorization: Bearer abcDEF1234567890xyz",
            "Authorization: Bearer [REDACTED:bearer_token]",
        ),  # noqa: E501
        ("DB_PASSWORD=hunter22\nDEBUG=1", "DB_PASSWORD=[REDACTED:secret_assignment]\nDEBUG=1"),
        ("SECRET_KEY = 's3cr3t-v4lue'", "SECRET_KEY = '[REDACTED:secret_assignment]'"),
    ],
)
def test_secret_is_replaced_by_its_kind(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact_text(text) == expected


def test_every_planted_kind_is_found_with_its_kind(redactor: Redactor) -> None:
    planted = planted_secrets(random.Random(3))
    assert len({p.kind for p in planted}) >= 17
    for item in planted:
        out = redactor.redact_text(item.text)
        assert f"[REDACTED:{item.kind}]" in out, item.text
        assert not [t for t in item.traces if t in out], item.text


@pytest.mark.parametrize("line", [line for line in HARD_NEGATIVES.splitlines() if line.strip()])
def test_ordinary_agent_output_is_left_alone(redactor: Redactor, line: str) -> None:
    """Tool-call ids, model names, SHAs, UUIDs, digests, code and placeholders are not secrets."""
    assert redactor.redact_text(line) == line


def test_base64_image_is_left_alone(redactor: Redactor) -> None:
    for seed in range(20):
        image = base64_image(random.Random(seed), 20000)
        assert redactor.redact_text(image) == image


def test_arguments_are_redacted_inside_and_stay_valid_json(redactor: Redactor) -> None:
    arguments = json.dumps({"cmd": f"gh auth login --with-token {GITHUB}", "password": "hunter22"})
    call = {"id": "call_1", "function": {"name": "sh", "arguments": arguments}}
    out = redactor.redact_value(call)
    assert json.loads(out["function"]["arguments"]) == {
        "cmd": "gh auth login --with-token [REDACTED:github_token]",
        "password": "[REDACTED:secret_assignment]",
    }
    assert out["id"] == "call_1"
    assert call["function"]["arguments"] == arguments  # the input is not changed


def test_arguments_without_a_secret_keep_their_exact_text(redactor: Redactor) -> None:
    arguments = '{"path":"a.py",  "line": 3}'  # spacing json.dumps would not write
    call = {"function": {"arguments": arguments}}
    assert redactor.redact_value(call) is call


def test_arguments_that_do_not_parse_are_redacted_as_text(redactor: Redactor) -> None:
    truncated = '{"cmd": "echo ' + GITHUB + " && ech"
    out = redactor.redact_value({"arguments": truncated})
    assert out == {"arguments": '{"cmd": "echo [REDACTED:github_token] && ech'}


def test_secret_written_with_json_escapes_is_found(redactor: Redactor) -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in GITHUB)
    line = '{"content": "key ' + escaped + '", "arguments": "{\\"t\\": \\"' + escaped + '\\"}"}'
    assert redactor.redact_value(json.loads(line)) == {
        "content": "key [REDACTED:github_token]",
        "arguments": '{"t": "[REDACTED:github_token]"}',
    }


def test_pem_block_inside_json_text_is_redacted_whole(redactor: Redactor) -> None:
    """A tool printed a JSON file: the block's newlines are the two characters `\\n`."""
    text = json.dumps({"private_key": PEM, "user": "ci"})
    out = redactor.redact_text(text)
    assert out == '{"private_key": "[REDACTED:private_key]", "user": "ci"}'


def test_truncated_pem_block_is_redacted_to_the_end_of_its_body(redactor: Redactor) -> None:
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + PEM_BODY[0] + "\n" + PEM_BODY[1][:9]
    assert redactor.redact_text(text) == "[REDACTED:private_key]"


def test_putty_key_file_is_redacted_to_its_mac_line(redactor: Redactor) -> None:
    text = (
        "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nPublic-Lines: 1\nAAAAB3NzaC1yc2E\n"
        "Private-Lines: 1\nAAAAgQC1x2Y3z\nPrivate-MAC: 8a9b0c1d2e3f\nnext line"
    )
    assert redactor.redact_text(text) == "[REDACTED:private_key]\nnext line"


def test_dict_key_that_names_a_secret_redacts_its_value(redactor: Redactor) -> None:
    value = {"api_key": "abcd1234efgh", "secretName": "tls-cert", "password": "<your-password>"}
    assert redactor.redact_value(value) == {
        "api_key": "[REDACTED:secret_assignment]",
        "secretName": "tls-cert",
        "password": "<your-password>",
    }


def test_tool_schema_naming_a_password_is_not_touched(redactor: Redactor) -> None:
    schema = {"properties": {"password": {"type": "string"}}, "required": ["password"]}
    tool = {"type": "function", "function": {"name": "login", "parameters": schema}}
    assert redactor.redact_value(tool) is tool


def test_redacting_twice_changes_nothing_more(redactor: Redactor) -> None:
    text = f"DB_PASSWORD=hunter22 {GITHUB} {PEM} Bearer abcDEF1234567890xyz"
    once = redactor.redact_text(text)
    assert redactor.redact_text(once) == once


def test_counts_are_by_kind_and_include_cached_strings() -> None:
    redactor = Redactor()
    long_text = f"{GITHUB} " + "x " * 300  # long enough to be cached
    for _ in range(3):
        redactor.redact_value({"a": long_text, "b": "DB_PASSWORD=hunter22"})
    assert redactor.counts == {"github_token": 3, "secret_assignment": 3}


def test_email_pseudonyms_are_stable_keyed_and_case_blind() -> None:
    first = Redactor(secrets=False, email_key=b"k1")
    text = "mail Ada.Lovelace@corp.io, ada.lovelace@corp.io and bob@corp.io"
    out = first.redact_text(text)
    names = out.removeprefix("mail ").replace(" and ", ", ").split(", ")
    assert names[0] == names[1] != names[2]
    assert all(n.startswith("user-") and n.endswith("@example.com") for n in names)
    assert Redactor(secrets=False, email_key=b"k1").redact_text(text) == out
    assert Redactor(secrets=False, email_key=b"k2").redact_text(text) != out
    assert first.counts == {"email": 3}


def test_pseudonym_is_an_hmac_not_a_plain_hash() -> None:
    import hashlib
    import hmac

    out = Redactor(secrets=False, email_key=b"key").redact_text("to bob@corp.io")
    keyed = hmac.new(b"key", b"bob@corp.io", hashlib.sha256).hexdigest()[:12]
    assert out == f"to user-{keyed}@example.com"
    assert hashlib.sha256(b"bob@corp.io").hexdigest()[:12] != keyed


def test_file_names_and_ssh_logins_are_not_emails() -> None:
    redactor = Redactor(secrets=False, email_key=b"k")
    text = "icons/logo@2x.png git@github.com:org/repo.git"
    assert redactor.redact_text(text) == text


def test_secrets_only_redactor_leaves_emails() -> None:
    assert Redactor().redact_text("write to bob@corp.io") == "write to bob@corp.io"


def test_repeated_long_arguments_are_counted_every_time() -> None:
    """The proxy sees a history's arguments again on every call: cached, still counted."""
    redactor = Redactor()
    counts = redactor.counts
    arguments = json.dumps({"path": "a.py", "content": "x = 1\n" * 100 + f"# {GITHUB}\n"})
    outs = [redactor.redact_value({"arguments": arguments}) for _ in range(3)]
    assert outs[0] == outs[1] == outs[2]
    assert json.loads(outs[0]["arguments"])["content"].endswith("# [REDACTED:github_token]\n")
    assert redactor.counts is counts and counts == {"github_token": 3}
