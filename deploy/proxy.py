#!/usr/bin/env python3
"""nginx in front of the chat server: its configuration, its certificate, and nginx itself.

    python deploy/proxy.py cert     make a self-signed certificate at TLS_CERT, unless one is there
    python deploy/proxy.py config   render deploy/nginx.conf.template to $NGINX_PREFIX/nginx.conf
    python deploy/proxy.py check    cert and config, then `nginx -t` on the result
    python deploy/proxy.py run      cert and config, then nginx in the foreground (deploy/Procfile)
    python deploy/proxy.py reload   the running nginx rereads its config and certificate files

Every value comes from the environment; deploy/README.md lists them. Relative paths are taken
from the repository's root. Only the standard library: no Django settings are read, so the
values that must match the app's (ATTACHMENT_ROOT, ATTACHMENT_MAX_BYTES,
ATTACHMENT_ACCEL_REDIRECT) are read from the same variables the app reads.
"""

import getpass
import grp
import ipaddress
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"

# The app's defaults (chatproject/settings.py), for when the variables are not set.
ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
MULTIPART_FRAMING = 64 * 1024


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    return (ROOT / (env.get(name) or default)).resolve()


def _listen(addresses: str, port: int, extra: str) -> str:
    lines = []
    for address in (a.strip() for a in addresses.split(",") if a.strip()):
        lines.append(f"        listen {address}:{port}{extra} default_server;")
    if not lines:
        raise SystemExit("LISTEN_ADDRESS names no address")
    return "\n".join(lines)


def _upstreams(env: Mapping[str, str]) -> list[str]:
    """host:port of each daphne: UPSTREAMS if given, else WEB_PROCESSES ports from WEB_PORT."""
    if env.get("UPSTREAMS"):
        return [u.strip() for u in env["UPSTREAMS"].split(",") if u.strip()]
    first = int(env.get("WEB_PORT") or 8001)
    count = int(env.get("WEB_PROCESSES") or 2)
    return [f"127.0.0.1:{first + n}" for n in range(count)]


class Proxy:
    """The rendered configuration's values, from an environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.prefix = _path(env, "NGINX_PREFIX", "var/nginx")
        self.conf = self.prefix / "nginx.conf"
        self.server_name = env.get("SERVER_NAME") or "localhost"
        self.https_port = int(env.get("HTTPS_PORT") or 8443)
        self.http_port = int(env.get("HTTP_PORT") or 8080)
        self.listen = env.get("LISTEN_ADDRESS") or "127.0.0.1"
        self.cert = _path(env, "TLS_CERT", "var/tls/cert.pem")
        self.key = _path(env, "TLS_KEY", "var/tls/key.pem")
        self.upstreams = _upstreams(env)
        self.static_root = _path(env, "STATIC_ROOT", "var/static")
        self.attachment_root = _path(env, "ATTACHMENT_ROOT", "var/attachments")
        self.acme_root = _path(env, "ACME_ROOT", "var/acme")
        self.accel_prefix = env.get("ATTACHMENT_ACCEL_REDIRECT") or "/protected-attachments/"
        if not (self.accel_prefix.startswith("/") and self.accel_prefix.endswith("/")):
            raise SystemExit("ATTACHMENT_ACCEL_REDIRECT must start and end with /")
        max_bytes = int(env.get("ATTACHMENT_MAX_BYTES") or ATTACHMENT_MAX_BYTES)
        self.upload_max_body = max_bytes + MULTIPART_FRAMING
        self.worker_connections = int(env.get("WORKER_CONNECTIONS") or 4096)
        self.mime_types = env.get("MIME_TYPES") or "/etc/nginx/mime.types"
        # Run as root (to listen on 443), nginx starts its workers as another user; they read the
        # static files and attachments, so by default they are the user who owns those.
        self.user = env.get("NGINX_USER") or ""
        self.nginx = env.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"

    def values(self) -> dict[str, str]:
        return {
            "USER_DIRECTIVE": f"user {self.user or _me()};" if os.geteuid() == 0 else "",
            "RLIMIT_NOFILE": str(2 * self.worker_connections + 64),
            "WORKER_CONNECTIONS": str(self.worker_connections),
            "PREFIX": str(self.prefix),
            "MIME_TYPES": self.mime_types,
            "UPSTREAM_SERVERS": "\n".join(
                f"        server {u} max_fails=1 fail_timeout=5s;" for u in self.upstreams
            ),
            "LISTEN_HTTP": _listen(self.listen, self.http_port, ""),
            "LISTEN_HTTPS": _listen(self.listen, self.https_port, " ssl http2"),
            "SERVER_NAME": self.server_name,
            "HTTPS_PORT_SUFFIX": "" if self.https_port == 443 else f":{self.https_port}",
            "ACME_ROOT": str(self.acme_root),
            "TLS_CERT": str(self.cert),
            "TLS_KEY": str(self.key),
            "UPLOAD_MAX_BODY": str(self.upload_max_body),
            "STATIC_ROOT": str(self.static_root),
            "ACCEL_PREFIX": self.accel_prefix,
            "ATTACHMENT_ROOT": str(self.attachment_root),
        }

    def render(self) -> str:
        text = TEMPLATE.read_text()
        for name, value in self.values().items():
            text = text.replace("{{" + name + "}}", value)
        if "{{" in text:
            raise SystemExit(f"{TEMPLATE}: a value is missing: {text[text.index('{{') :][:40]}")
        return text

    def write_config(self) -> Path:
        for directory in (self.prefix / "logs", self.prefix / "tmp", self.acme_root):
            directory.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.render())
        return self.conf

    def make_cert(self) -> bool:
        """A self-signed certificate for SERVER_NAME (and localhost, 127.0.0.1 and ::1), good for
        30 days, if TLS_CERT does not exist yet; whether one was made. A real certificate is
        never touched."""
        if self.cert.exists():
            return False
        self.cert.parent.mkdir(parents=True, exist_ok=True)
        self.key.parent.mkdir(parents=True, exist_ok=True)
        names = [self.server_name, "localhost", "127.0.0.1", "::1"]
        san = ",".join(dict.fromkeys(_san(name) for name in names))
        openssl = shutil.which("openssl")
        if openssl is None:
            raise SystemExit("making a certificate needs openssl: apt-get install openssl")
        umask = os.umask(0o077)  # the key is never readable by others, not even for a moment
        try:
            self._openssl(openssl, san)
        finally:
            os.umask(umask)
        self.cert.chmod(0o644)
        return True

    def _openssl(self, openssl: str, san: str) -> None:
        subprocess.run(  # noqa: S603 - openssl with our own arguments
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-sha256",
                "-days",
                "30",
                "-nodes",
                "-keyout",
                str(self.key),
                "-out",
                str(self.cert),
                "-subj",
                f"/CN={self.server_name}",
                "-addext",
                f"subjectAltName={san}",
            ],
            check=True,
            capture_output=True,
        )

    def command(self, *extra: str) -> list[str]:
        return [self.nginx, "-p", f"{self.prefix}/", "-c", str(self.conf), *extra]


def _me() -> str:
    """This process's user and group, as nginx's `user` directive names them."""
    return f"{getpass.getuser()} {grp.getgrgid(os.getegid()).gr_name}"


def _san(name: str) -> str:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return f"DNS:{name}"
    return f"IP:{name}"


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in {"cert", "config", "check", "run", "reload"}:
        raise SystemExit(__doc__)
    proxy = Proxy(os.environ)
    if argv[0] == "reload":  # as rendered at start: only NGINX_PREFIX must be the same
        subprocess.run(proxy.command("-s", "reload"), check=True)  # noqa: S603 - nginx, our config
        return
    if argv[0] == "cert":
        made = proxy.make_cert()
        print(f"{'made a self-signed' if made else 'kept the'} certificate {proxy.cert}")
        return
    if argv[0] == "config":
        print(proxy.write_config())
        return
    proxy.make_cert()
    proxy.write_config()
    if argv[0] == "check":
        subprocess.run(proxy.command("-t"), check=True)  # noqa: S603 - nginx, our config
    else:
        sys.stdout.flush()
        # nginx reads NGINX as a list of inherited sockets (its binary upgrade): never pass one.
        env = {name: value for name, value in os.environ.items() if name != "NGINX"}
        os.execve(proxy.nginx, proxy.command(), env)  # noqa: S606 - nginx in this process's place


if __name__ == "__main__":
    main(sys.argv[1:])
