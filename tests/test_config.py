"""Settings: flags over environment over .env over defaults, and upstream URL normalisation."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from albicilla.config import ConfigError, Settings, load_dotenv_file, normalize_upstream


@pytest.mark.parametrize(
    ("endpoint", "base"),
    [
        ("https://api.openai.com", "https://api.openai.com"),
        ("https://api.openai.com/", "https://api.openai.com"),
        ("https://api.openai.com/v1", "https://api.openai.com"),
        ("https://api.openai.com/v1/", "https://api.openai.com"),
        ("http://127.0.0.1:8000/openai/v1", "http://127.0.0.1:8000/openai"),
        ("http://host/v1beta", "http://host/v1beta"),
    ],
)
def test_upstream_endpoint_never_doubles_v1(endpoint, base):
    assert normalize_upstream(endpoint) == base


@pytest.mark.parametrize("endpoint", ["api.openai.com", "ftp://x", "http://", ""])
def test_bad_upstream_endpoint_is_a_config_error(endpoint):
    with pytest.raises(ConfigError):
        Settings(upstream_endpoint=endpoint)


def test_defaults():
    settings = Settings.load(environ={"PROXY_UPSTREAM_ENDPOINT": "http://u"})
    assert settings.log_root == Path("./proxy_logs")
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.session_headers == ("X-Session-Id",)
    assert settings.read_timeout == 600.0
    assert settings.anthropic_base == "http://u"  # the one upstream serves /v1/messages too
    assert settings.instance == socket.gethostname()


def test_anthropic_endpoint_and_instance_come_from_the_environment_and_flags():
    environ = {
        "PROXY_UPSTREAM_ENDPOINT": "http://openai/v1",
        "PROXY_ANTHROPIC_ENDPOINT": "https://api.anthropic.com/",
        "PROXY_INSTANCE": "h1",
    }
    settings = Settings.load(environ=environ)
    assert (settings.upstream_base, settings.anthropic_base) == (
        "http://openai",
        "https://api.anthropic.com",
    )
    assert settings.instance == "h1"
    assert Settings.load({"instance": "h2"}, environ=environ).instance == "h2"
    with pytest.raises(ConfigError):
        Settings.load(environ={**environ, "PROXY_ANTHROPIC_ENDPOINT": "api.anthropic.com"})


def test_environment_is_read_and_flags_win():
    environ = {
        "PROXY_UPSTREAM_ENDPOINT": "http://env",
        "PROXY_LOG_ROOT": "/tmp/env-logs",
        "PROXY_PORT": "9100",
        "PROXY_SESSION_HEADER": "X-A, X-B",
        "PROXY_READ_TIMEOUT": "12.5",
    }
    settings = Settings.load({"port": 9200, "host": None}, environ=environ)
    assert settings.upstream_base == "http://env"
    assert settings.log_root == Path("/tmp/env-logs")
    assert settings.port == 9200
    assert settings.host == "0.0.0.0"
    assert settings.session_headers == ("X-A", "X-B")
    assert settings.read_timeout == 12.5


def test_missing_upstream_is_a_config_error():
    with pytest.raises(ConfigError, match="PROXY_UPSTREAM_ENDPOINT"):
        Settings.load(environ={})


@pytest.mark.parametrize(("var", "value"), [("PROXY_PORT", "http"), ("PROXY_WORKERS", "0")])
def test_malformed_numbers_are_config_errors(var, value):
    with pytest.raises(ConfigError):
        Settings.load(environ={"PROXY_UPSTREAM_ENDPOINT": "http://u", var: value})


def test_dotenv_never_overrides_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("PROXY_LOG_ROOT=from-file\nPROXY_PORT=9300\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROXY_PORT", "9400")
    monkeypatch.delenv("PROXY_LOG_ROOT", raising=False)
    load_dotenv_file()
    try:
        assert os.environ["PROXY_LOG_ROOT"] == "from-file"
        assert os.environ["PROXY_PORT"] == "9400"
    finally:
        os.environ.pop("PROXY_LOG_ROOT", None)


def test_importing_the_package_reads_no_environment(monkeypatch):
    import importlib

    import albicilla

    monkeypatch.delenv("PROXY_UPSTREAM_ENDPOINT", raising=False)
    importlib.reload(albicilla)  # would raise if it built settings at import time


def test_gunicorn_conf_and_the_runner_take_the_same_options(monkeypatch, tmp_path):
    """`gunicorn wsgi:app` reads gunicorn.conf.py; albicilla-proxy sets gunicorn_options: one
    place, so reuse_port and the rest cannot drift between them again."""
    import runpy

    from albicilla.server import gunicorn_options

    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)  # no .env of the developer's in the way
    env = {
        "PROXY_UPSTREAM_ENDPOINT": "http://up.test",
        "PROXY_WORKERS": "3",
        "PROXY_PORT": "9123",
        "PROXY_HOST": "::1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    conf = runpy.run_path(str(root / "gunicorn.conf.py"))
    expected = gunicorn_options(Settings.load())
    assert {key: conf[key] for key in expected} == expected
    assert expected["bind"] == "[::1]:9123" and expected["workers"] == 3
    assert expected["reuse_port"] is True and expected["worker_class"] == "gevent"


def test_session_header_with_an_underscore_is_a_config_error_from_flags_and_environment():
    environ = {"PROXY_UPSTREAM_ENDPOINT": "http://u"}
    with pytest.raises(ConfigError, match="gunicorn drops request headers with underscores"):
        Settings.load({"session_headers": "X-A,x_session_id"}, environ=environ)
    with pytest.raises(ConfigError, match="'x_session_id'"):
        Settings.load(environ={**environ, "PROXY_SESSION_HEADER": "x_session_id"})
    assert Settings.load({"session_headers": "X-A"}, environ=environ).session_headers == ("X-A",)


def test_gemini_endpoint_defaults_to_the_upstream_and_comes_from_env_and_flags():
    environ = {"PROXY_UPSTREAM_ENDPOINT": "http://openai/v1"}
    assert Settings.load(environ=environ).gemini_base == "http://openai"
    environ["PROXY_GEMINI_ENDPOINT"] = "https://generativelanguage.googleapis.com/"
    assert Settings.load(environ=environ).gemini_base == "https://generativelanguage.googleapis.com"
    flagged = Settings.load({"gemini_endpoint": "http://g:8"}, environ=environ)
    assert flagged.gemini_base == "http://g:8"
    with pytest.raises(ConfigError):
        Settings.load(environ={**environ, "PROXY_GEMINI_ENDPOINT": "generativelanguage"})
