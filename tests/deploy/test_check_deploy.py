"""Deploying with the production settings is safe by default: Django's deployment checklist
passes, every request is HTTPS-only, and development (`make run`) still serves plain http."""

import json
import os
import secrets
import subprocess
import sys
from typing import Any

from django.conf import settings

# Only what an operator sets; nothing of the test run's own environment (tests/settings.py turns
# the https redirect off for the test servers, which production must not inherit).
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "chatproject.settings",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "chat.example.com",
}
SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
)


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter, our arguments
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_under(**env: str) -> dict[str, Any]:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {SETTINGS!r}}}))"
    )
    result = run(["-c", code], **env)
    assert result.returncode == 0, result.stderr
    values: dict[str, Any] = json.loads(result.stdout)
    return values


def test_the_deployment_checklist_passes_with_production_settings() -> None:
    """`manage.py check --deploy` finds nothing to warn about when an operator sets only a
    secret key and the host name."""
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_checklist_catches_debug_left_on() -> None:
    """The same check fails a deployment with DEBUG on, so it really checks."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION, DEBUG="true"
    )

    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_production_defaults_are_https_only() -> None:
    values = settings_under(**PRODUCTION)

    assert values["SECURE_SSL_REDIRECT"] is True
    # The load balancer probes /healthz over plain http.
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_SECURE"] is True


def test_development_serves_plain_http() -> None:
    """`make run` (DEBUG on, no TLS) neither redirects to https nor pins browsers to it."""
    values = settings_under(DJANGO_SETTINGS_MODULE="chatproject.settings", DEBUG="true")

    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SESSION_COOKIE_SECURE"] is False


def test_an_operator_can_turn_the_https_redirect_off() -> None:
    """A TLS proxy that redirects by itself, or a trusted private network, can opt out."""
    values = settings_under(**PRODUCTION, SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")

    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
