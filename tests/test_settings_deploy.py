"""Deployment settings: the server refuses to start with DEBUG off and no real SECRET_KEY, the
README's production environment passes `manage.py check --deploy`, and a variable the settings
cannot read stops the start with its name.

Each case runs manage.py in a fresh process with a clean environment (settings are read once per
process), the way a server would start.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from service_center.settings import DEV_SECRET_KEY, env_bool, env_proxy_ssl_header

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def real_key() -> str:
    return secrets.token_urlsafe(50)


def readme_production_env() -> dict[str, str]:
    """The `sh` block under README's "Production settings", with a freshly generated SECRET_KEY
    (the README says to generate one)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production settings", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    env = {}
    for line in block.splitlines():
        for word in shlex.split(line, comments=True):
            name, _, value = word.partition("=")
            env[name] = value
    assert env["SECRET_KEY"], "the README block names SECRET_KEY"
    env["SECRET_KEY"] = real_key()
    return env


# --- SECRET_KEY and DEBUG -----------------------------------------------------------------------


@pytest.mark.parametrize("debug", [None, "0", "false", "off"])
def test_check_refuses_to_start_without_a_secret_key_when_debug_is_off(debug):
    env = {} if debug is None else {"DEBUG": debug}
    run = manage("check", **env)
    assert run.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set and DEBUG is off." in run.stderr
    assert "Set the SECRET_KEY environment variable" in run.stderr


def test_check_refuses_the_built_in_development_key_when_debug_is_off():
    run = manage("check", DEBUG="0", SECRET_KEY=DEV_SECRET_KEY)
    assert run.returncode != 0
    assert "SECRET_KEY is the built-in development key and DEBUG is off" in run.stderr


def test_check_passes_with_a_real_key_and_debug_off():
    run = manage("check", DEBUG="0", SECRET_KEY=real_key())
    assert run.returncode == 0, run.stderr
    assert "System check identified no issues" in run.stdout


def test_debug_on_still_starts_with_the_development_key_as_make_run_does():
    run = manage("check", DEBUG="1")
    assert run.returncode == 0, run.stderr


# --- check --deploy with the README's production environment ------------------------------------


def test_check_deploy_is_clean_with_the_readme_production_environment():
    run = manage("check", "--deploy", "--fail-level", "WARNING", **readme_production_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert "System check identified no issues (0 silenced)." in run.stdout
    assert "WARNINGS" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    "dropped, warning",
    [
        ("SECURE_SSL_REDIRECT", "security.W008"),
        ("SECURE_HSTS_SECONDS", "security.W004"),
        ("SECURE_COOKIES", "security.W012"),
    ],
)
def test_check_deploy_warns_when_a_readme_setting_is_left_out(dropped, warning):
    env = readme_production_env()
    del env[dropped]
    run = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert run.returncode != 0
    assert warning in run.stdout + run.stderr


HTTPS_PROBE = """
from django.test import Client
c = Client()
plain = c.get("/status/")
print("plain", plain.status_code, plain.get("Location"))
health = c.get("/healthz")
print("health", health.status_code)
https = c.get("/healthz", headers={"x-forwarded-proto": "https"})
print("https", https.status_code, https.get("Strict-Transport-Security"))
"""


def test_the_production_environment_redirects_to_https_and_sends_hsts(tmp_path):
    env = readme_production_env()
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALLOWED_HOSTS="testserver",
        REDIS_URL="",
    )
    run = manage("shell", "-c", HTTPS_PROBE, **env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "plain 301 https://testserver/status/" in lines
    assert "health 200" in lines  # the load balancer's plain-HTTP health check is exempt
    assert "https 200 max-age=31536000; includeSubDomains; preload" in lines


# --- values the settings cannot read --------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a yes/no value: set DEBUG to 1 or 0"),
        ("SECURE_COOKIES", "ture", "SECURE_COOKIES='ture' is not a yes/no value"),
        ("SECURE_HSTS_SECONDS", "one year", "SECURE_HSTS_SECONDS='one year' is not a whole number"),
        ("SECURE_PROXY_SSL_HEADER", "https", "SECURE_PROXY_SSL_HEADER='https' is not a header"),
        ("PG_JIT", "maybe", "PG_JIT must be 'off' or 'server'"),
    ],
)
def test_a_value_the_settings_cannot_read_stops_the_start_naming_the_variable(name, value, message):
    run = manage("check", **{"SECRET_KEY": real_key(), name: value})
    assert run.returncode != 0
    assert f"ImproperlyConfigured: {message}" in run.stderr


@pytest.mark.parametrize(
    "value, expected",
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True)]
    + [("0", False), ("false", False), ("No", False), ("off", False)],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("REPAIRDESK_FLAG", value)
    assert env_bool("REPAIRDESK_FLAG", default=not expected) is expected


def test_env_bool_falls_back_to_the_default_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv("REPAIRDESK_FLAG", raising=False)
    assert env_bool("REPAIRDESK_FLAG", default=True) is True
    monkeypatch.setenv("REPAIRDESK_FLAG", "")
    assert env_bool("REPAIRDESK_FLAG", default=False) is False


@pytest.mark.parametrize(
    "value, expected",
    [
        ("X-Forwarded-Proto,https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("HTTP_X_FORWARDED_PROTO,https", ("HTTP_X_FORWARDED_PROTO", "https")),
        (" x-forwarded-ssl , on ", ("HTTP_X_FORWARDED_SSL", "on")),
        ("", None),
        ("0", None),
    ],
)
def test_the_proxy_ssl_header_is_read_as_a_header_and_a_value(monkeypatch, value, expected):
    monkeypatch.setenv("REPAIRDESK_SSL_HEADER", value)
    assert env_proxy_ssl_header("REPAIRDESK_SSL_HEADER", "") == expected


def test_the_proxy_ssl_header_defaults_to_the_given_default_when_unset(monkeypatch):
    monkeypatch.delenv("REPAIRDESK_SSL_HEADER", raising=False)
    assert env_proxy_ssl_header("REPAIRDESK_SSL_HEADER", "X-Forwarded-Proto,https") == (
        "HTTP_X_FORWARDED_PROTO",
        "https",
    )
    assert env_proxy_ssl_header("REPAIRDESK_SSL_HEADER", "") is None


# --- PostgreSQL's JIT ---------------------------------------------------------------------------

SHOW_JIT = (
    "from django.db import connection; c = connection.cursor(); c.execute('SHOW jit');"
    " print('jit=' + c.fetchone()[0])"
)


MACHINE_POSTGRES = "postgres://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_url():
    """DATABASE_URL on PostgreSQL, else the machine's PostgreSQL (the tests only connect and ask);
    skipped, saying why, only when there is none, and failing then under CI."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return url
    import psycopg

    try:
        psycopg.connect(MACHINE_POSTGRES, connect_timeout=2).close()
    except psycopg.OperationalError:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unreachable at {MACHINE_POSTGRES}, and CI needs it")
        pytest.skip(f"PostgreSQL unreachable at {MACHINE_POSTGRES} (start it to run this test)")
    return MACHINE_POSTGRES


@pytest.mark.parametrize(
    "pg_jit, shown",
    [
        ({}, "jit=off"),  # the default: the service's own option wins over the client's
        ({"PG_JIT": "server"}, "jit=on"),  # the server's setting (here the client's PGOPTIONS)
    ],
)
def test_the_service_connects_to_postgresql_with_jit_off_unless_told(postgres_url, pg_jit, shown):
    env = {"SECRET_KEY": real_key(), "DATABASE_URL": postgres_url, "PGOPTIONS": "-c jit=on"}
    run = manage("shell", "-c", SHOW_JIT, **env, **pg_jit)
    assert run.returncode == 0, run.stderr
    assert shown in run.stdout
