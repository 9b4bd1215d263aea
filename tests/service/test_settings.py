import os
import subprocess
import sys

from django.conf import settings

SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def run_django(**env_overrides: str) -> subprocess.CompletedProcess[str]:
    """Sets Django up in a fresh interpreter with the production settings module."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="chatproject.settings", **env_overrides)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", SETUP],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_django(DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_an_empty_secret_key_is_no_secret_key() -> None:
    result = run_django(DEBUG="0", SECRET_KEY="")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_production_starts_with_a_secret_key() -> None:
    result = run_django(DEBUG="0", SECRET_KEY="a-real-secret-from-the-environment-0123456789")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_development_starts_without_a_secret_key() -> None:
    result = run_django(DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_debug_is_off_unless_asked_for() -> None:
    result = run_django(SECRET_KEY="a-real-secret-from-the-environment-0123456789")

    assert result.stdout.strip() == "False"
