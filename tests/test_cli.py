"""albicilla-proxy's argument handling, called as main([...])."""

from __future__ import annotations

import pytest

from albicilla import cli


@pytest.fixture
def served(monkeypatch):
    calls = []
    monkeypatch.setattr("albicilla.server.serve", lambda settings: calls.append(settings) or 0)
    for var in ("PROXY_UPSTREAM_ENDPOINT", "PROXY_PORT", "PROXY_LOG_ROOT"):
        monkeypatch.delenv(var, raising=False)
    return calls


def test_flags_become_settings(served, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [
        "--upstream-endpoint",
        "http://u/v1",
        "--port",
        "9123",
        "--log-root",
        "L",
        "--session-header",
        "X-A,X-B",
        "--read-timeout",
        "5",
        "--workers",
        "3",
    ]
    assert cli.main(argv) == 0
    [settings] = served
    assert settings.upstream_base == "http://u"
    assert (settings.port, str(settings.log_root), settings.workers) == (9123, "L", 3)
    assert settings.session_headers == ("X-A", "X-B")
    assert settings.read_timeout == 5.0


def test_dotenv_in_working_directory_is_used(served, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PROXY_UPSTREAM_ENDPOINT=http://from-dotenv\nPROXY_PORT=9555\n")
    try:
        assert cli.main(["--port", "9556"]) == 0
    finally:
        monkeypatch.delenv("PROXY_UPSTREAM_ENDPOINT", raising=False)
        monkeypatch.delenv("PROXY_PORT", raising=False)
    [settings] = served
    assert (settings.upstream_base, settings.port) == ("http://from-dotenv", 9556)


@pytest.mark.parametrize("argv", [[], ["--upstream-endpoint", "not-a-url"]])
def test_bad_configuration_is_one_line_and_exit_2(served, tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("albicilla: error: ") and err.count("\n") == 1
    assert served == []


def test_unknown_flag_is_a_usage_error(served, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--no-such-flag"])
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


UNDERSCORE = "gunicorn drops request headers with underscores"


@pytest.mark.parametrize("via", ["flag", "environment"])
def test_session_header_with_an_underscore_is_refused_at_start(
    served, tmp_path, monkeypatch, capsys, via
):
    monkeypatch.chdir(tmp_path)
    argv = ["--upstream-endpoint", "http://u"]
    if via == "flag":
        argv += ["--session-header", "X-Run,X_Session"]
    else:
        monkeypatch.setenv("PROXY_SESSION_HEADER", "X_Session")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("albicilla: error: ") and err.count("\n") == 1
    assert "'X_Session'" in err and UNDERSCORE in err
    assert served == []


def test_gemini_endpoint_flag_names_the_gemini_upstream(served, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROXY_GEMINI_ENDPOINT", raising=False)
    argv = ["--upstream-endpoint", "http://u/v1", "--gemini-endpoint", "http://g/"]
    assert cli.main(argv) == 0
    assert served[0].gemini_base == "http://g"
