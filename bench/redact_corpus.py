"""Corpora for measuring redaction: fake secrets of every kind, and look-alikes that are not secret.

`planted_secrets` makes random, well-formed fake secrets (nothing here is a real credential) with
the text an agent would see them in; `HARD_NEGATIVES` is agent output full of ids, hashes and
code that looks like secrets and is not. Deterministic for a given seed.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"


@dataclass(frozen=True)
class Planted:
    kind: str  # the kind it must be redacted as
    text: str  # the secret in the text around it
    traces: tuple[str, ...]  # what must not survive anywhere (the secret, or its parts)


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    # Every character class of the alphabet present, as in real keys of any length.
    classes = [c for c in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
               if set(c) & set(alphabet)]  # fmt: skip
    while True:
        s = "".join(rng.choices(alphabet, k=n))
        if all(set(c) & set(s) for c in classes):
            return s


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": str(rng.randrange(10**9)), "iat": 1764151200, "name": "Ada"}
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{_rand(rng, URLSAFE, 43)}"


def _pem(rng: random.Random, label: str) -> tuple[str, tuple[str, ...]]:
    body = [_rand(rng, B64, 64) for _ in range(rng.randint(6, 12))] + [_rand(rng, B64, 20) + "=="]
    block = f"-----BEGIN {label}-----\n" + "\n".join(body) + f"\n-----END {label}-----"
    return block, tuple(body)


def planted_secrets(rng: random.Random) -> list[Planted]:
    """Every kind, in the forms it is met in (prose, env files, headers, URLs, code)."""
    out = []

    def plant(kind: str, template: str, *secrets: str) -> None:
        out.append(Planted(kind, template.format(*secrets), secrets))

    upper = string.ascii_uppercase + string.digits
    legacy = f"sk-{_rand(rng, ALNUM, 20)}T3BlbkFJ{_rand(rng, ALNUM, 20)}"
    plant("openai_key", "OPENAI_API_KEY={}", legacy)
    plant("openai_key", "my key is {} thanks", "sk-proj-" + _rand(rng, URLSAFE, 156))
    plant("openai_key", "client = OpenAI(api_key='{}')", "sk-svcacct-" + _rand(rng, URLSAFE, 80))
    plant(
        "anthropic_key",
        "export ANTHROPIC_API_KEY={}",
        "sk-ant-api03-" + _rand(rng, URLSAFE, 93) + "AA",
    )
    plant("anthropic_key", "x-api-key: {}", "sk-ant-admin01-" + _rand(rng, URLSAFE, 93) + "AA")
    plant("google_api_key", "maps key {} in the config", "AIza" + _rand(rng, URLSAFE, 35))
    plant("google_oauth_token", "token: {}", "ya29." + _rand(rng, URLSAFE, 120))
    plant("huggingface_token", "huggingface-cli login --token {}", "hf_" + _rand(rng, ALNUM, 34))
    plant(
        "github_token",
        "git remote set-url origin https://x:{}@github.com/o/r",
        "ghp_" + _rand(rng, ALNUM, 36),
    )
    plant(
        "github_token",
        "GH_TOKEN={}",
        "github_pat_" + _rand(rng, ALNUM, 22) + "_" + _rand(rng, ALNUM, 59),
    )
    plant("github_token", "token {} expires", "gho_" + _rand(rng, ALNUM, 36))
    plant("gitlab_token", "CI_TOKEN: {}", "glpat-" + _rand(rng, URLSAFE, 20))
    plant(
        "slack_token",
        "SLACK_BOT_TOKEN={}",
        f"xoxb-{rng.randrange(10**11)}-{rng.randrange(10**12)}-" + _rand(rng, ALNUM, 24),
    )
    plant(
        "slack_webhook",
        "post to {}",
        f"https://hooks.slack.com/services/T{_rand(rng, upper, 8)}/B{_rand(rng, upper, 10)}/"
        + _rand(rng, ALNUM, 24),
    )
    plant("stripe_key", 'stripe.api_key = "{}"', "sk_live_" + _rand(rng, ALNUM, 99))
    plant("stripe_key", "STRIPE_KEY={}", "rk_live_" + _rand(rng, ALNUM, 24))
    plant("stripe_key", "test key {}", "sk_test_" + _rand(rng, ALNUM, 24))
    key_id, secret = "AKIA" + _rand(rng, upper, 16), _rand(rng, B64, 40)
    plant(
        "aws_secret_access_key",
        "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        key_id,
        secret,
    )
    key_id, secret = "ASIA" + _rand(rng, upper, 16), _rand(rng, B64, 40)
    plant("aws_secret_access_key", "aws configure set {} {}", key_id, secret)
    for label in ("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"):
        block, body = _pem(rng, label)
        out.append(Planted("private_key", f"key file:\n{block}\n", body))
    plant("jwt", "session cookie {} set", _jwt(rng))
    plant(
        "url_password", "DATABASE_URL=postgres://app:{}@db.internal:5432/app", _rand(rng, ALNUM, 16)
    )
    plant(
        "bearer_token",
        'curl -H "Authorization: Bearer {}" https://api.internal/v1',
        _rand(rng, URLSAFE, 40),
    )
    basic = base64.b64encode(f"admin:{_rand(rng, ALNUM, 12)}".encode()).decode()
    plant("basic_auth", "Authorization: Basic {}", basic)
    npm = "npm_" + _rand(rng, ALNUM, 36)
    plant("npm_token", "//registry.npmjs.org/:_authToken={}\nalways-auth=true", npm)
    plant("npm_token", "NPM_TOKEN={}", "npm_" + _rand(rng, ALNUM, 36))
    plant("pypi_token", "password = {}", "pypi-AgEIcHlwaS5vcmc" + _rand(rng, URLSAFE, 120))
    sendgrid = f"SG.{_rand(rng, URLSAFE, 22)}.{_rand(rng, URLSAFE, 43)}"
    plant("sendgrid_key", "sg = SendGridAPIClient('{}')", sendgrid)
    azure = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={};EndpointSuffix=x"
    plant("azure_storage_key", azure, _rand(rng, B64, 86) + "==")
    plant("secret_assignment", "DB_PASSWORD={}\nDEBUG=1", _rand(rng, ALNUM, 14))
    plant("secret_assignment", 'password: "{}"', _rand(rng, ALNUM + "!#%", 12))
    plant("secret_assignment", "SECRET_KEY='{}'", _rand(rng, ALNUM, 50))
    plant("secret_assignment", "client_secret = {}", _rand(rng, URLSAFE, 32))
    return out


# Agent output that looks like secrets and is not (each line a kind of look-alike).
HARD_NEGATIVES = """\
commit 3f786850e387550fdab836ed7e6dc881de23001b
Merge: 1a2b3c4 5d6e7f8
tool call call_Jk8sP2mQ7rT4vX9zB1cD3eF5 (call_id fc_68a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5)
tool use toolu_01A09q90qw90lq917835lq9
msg_01XFDUDYJgAACzvnptvVoYEL chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT
resp_67ccd2bed1ec8190b14f964abc054267
models: gpt-4.1-2025-04-14 claude-sonnet-4-5-20250929 gemini-2.5-pro o4-mini-2025-04-16
request 123e4567-e89b-12d3-a456-426614174000 trace 550e8400-e29b-41d4-a716-446655440000
sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  dist/app.tar.gz
"integrity":
  "sha512-Q3D8n5xPvN1m2vB2ld6hd2mZ0bEvyF3gT9k1sZ2e8QyK1lKZf9Hj0QJ1uG8H0bJf5qR3+1XK0aYlF9sA7dK2mQ=="
image: ghcr.io/o/a@sha256:5d41402abc4b2a76b9719d911017c592ae4f3d2b1c3e5f7a9b0c1d2e3f4a5b6c
def login(username: str, password: str) -> Session:
    api_key = os.environ["OPENAI_API_KEY"]
    client = OpenAI(api_key=api_key)
    self.secret = secret
    password_hash = hash_password(password)
    headers = {"Authorization": f"Bearer {token}"}
    token = tokens[index]
const apiKey = process.env.API_KEY;
  password: string;
  secretName: tls-cert
  secretKeyRef:
OPENAI_API_KEY=your-api-key-here
DB_PASSWORD=${DB_PASSWORD}
password: <your-password>
PWD=/home/dev/project
Authorization: Bearer YOUR_ACCESS_TOKEN
See https://docs.example.com/auth#bearer-tokens for bearer authentication.
logo@2x.png git@github.com:org/repo.git
the task list: key points, password reset flow, secret santa
"""


def base64_image(rng: random.Random, size: int = 6000) -> str:
    return "data:image/png;base64," + "".join(rng.choices(B64, k=size)) + "=="
