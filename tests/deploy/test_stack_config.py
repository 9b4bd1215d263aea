"""The TLS stack's configuration (deploy/): the app's settings behind the proxy pass Django's
deployment checklist, and the nginx configuration's limits and paths are the app's own.

tests/deploy/test_tls_stack.py runs the whole stack; these need no service.
"""

import importlib.util
import os
import secrets
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings

from tests.deploy.test_check_deploy import run
from tests.deploy.tls_stack import DEPLOY, nginx_binary, stack_env


def proxy_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_proxy", DEPLOY / "proxy.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered(tmp_path: Path, **env: str) -> str:
    proxy = proxy_module().Proxy(
        {
            **stack_env(),
            "NGINX_PREFIX": str(tmp_path / "nginx"),
            "TLS_CERT": str(tmp_path / "cert.pem"),
            "TLS_KEY": str(tmp_path / "key.pem"),
            "ACME_ROOT": str(tmp_path / "acme"),
            **env,
        }
    )
    return str(proxy.render())


def test_the_deployment_checklist_passes_with_the_stacks_settings() -> None:
    """`manage.py check --deploy` under what deploy/stack.sh gives every process: production
    settings behind a TLS proxy (NUM_PROXIES=1, BEHIND_TLS_PROXY, X-Accel downloads)."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SETTINGS_MODULE="chatproject.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="chat.example.com",
        **stack_env(),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_stack_runs_the_app_behind_one_tls_proxy() -> None:
    assert stack_env() == {
        "DEBUG": "false",
        "NUM_PROXIES": "1",
        "BEHIND_TLS_PROXY": "true",
        "ATTACHMENT_ACCEL_REDIRECT": "/protected-attachments/",
    }


def test_nginx_limits_bodies_as_the_app_does(tmp_path: Path) -> None:
    config = rendered(tmp_path)

    assert settings.REQUEST_BODY_MAX_BYTES == 256 * 1024
    assert "    client_max_body_size 256k;" in config
    assert f"client_max_body_size {settings.ATTACHMENT_BODY_MAX_BYTES};" in config
    assert settings.ATTACHMENT_BODY_MAX_BYTES == 26279936
    # A larger ATTACHMENT_MAX_BYTES for the app moves the proxy's upload limit with it.
    larger = rendered(tmp_path, ATTACHMENT_MAX_BYTES=str(100 * 1024 * 1024))
    assert f"client_max_body_size {100 * 1024 * 1024 + 64 * 1024};" in larger


def test_nginx_serves_the_apps_directories(tmp_path: Path) -> None:
    config = rendered(
        tmp_path, STATIC_ROOT="/srv/chat/static", ATTACHMENT_ROOT="/srv/chat/attachments"
    )

    assert "location ^~ /static/ {\n            alias /srv/chat/static/;" in config
    assert (
        "location ^~ /protected-attachments/ {\n            internal;\n"
        "            alias /srv/chat/attachments/;"
    ) in config


def test_nginx_sets_the_client_address_and_scheme_and_never_passes_the_clients_own(
    tmp_path: Path,
) -> None:
    config = rendered(tmp_path)

    assert config.count("proxy_set_header X-Forwarded-For $remote_addr;") == 3
    assert config.count("proxy_set_header X-Forwarded-Proto $scheme;") == 3
    assert "proxy_add_x_forwarded_for" not in config


def test_nginx_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    nginx = nginx_binary()
    if nginx is None:
        reason = "needs nginx: apt-get install nginx"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {
        "PATH": os.environ.get("PATH", ""),
        **stack_env(),
        "NGINX_PREFIX": str(tmp_path / "nginx"),
        "TLS_CERT": str(tmp_path / "tls" / "cert.pem"),
        "TLS_KEY": str(tmp_path / "tls" / "key.pem"),
        "ACME_ROOT": str(tmp_path / "acme"),
        "NGINX_BIN": nginx,
    }

    checked = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, str(DEPLOY / "proxy.py"), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "test is successful" in checked.stderr
    assert (tmp_path / "tls" / "key.pem").stat().st_mode & 0o077 == 0
