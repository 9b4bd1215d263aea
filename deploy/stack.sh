#!/usr/bin/env bash
# The production shape on one machine, with one command (`make stack-tls`): nginx terminating TLS
# in front of WEB_PROCESSES daphne processes, a Celery worker and beat, on the PostgreSQL, Redis
# and RabbitMQ that DATABASE_URL, REDIS_URL and CELERY_BROKER_URL name. deploy/README.md has the
# details.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

missing=()
for name in DATABASE_URL REDIS_URL CELERY_BROKER_URL; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "stack-tls: set ${missing[*]}: several server processes share PostgreSQL, Redis and a" \
    "broker (deploy/README.md)" >&2
  exit 2
fi
if [ -z "${NGINX_BIN:-}" ] && ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "stack-tls: needs nginx: apt-get install nginx" >&2
  exit 2
fi

# The app's settings behind the proxy (DEBUG off, NUM_PROXIES=1, BEHIND_TLS_PROXY, X-Accel).
set -a
# shellcheck source=deploy/stack.env
. deploy/stack.env
set +a

export SERVER_NAME=${SERVER_NAME:-localhost}
export HTTPS_PORT=${HTTPS_PORT:-8443}
export HTTP_PORT=${HTTP_PORT:-8080}
export WEB_PROCESSES=${WEB_PROCESSES:-2}
export WEB_PORT=${WEB_PORT:-8001}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-$SERVER_NAME}

mkdir -p var
if [ -z "${SECRET_KEY:-}" ]; then
  # Made once and kept: a new key would sign everyone out.
  if [ ! -s var/secret_key ]; then
    (umask 077 && "$BIN/python" -c "import secrets; print(secrets.token_urlsafe(50))" >var/secret_key)
  fi
  SECRET_KEY=$(cat var/secret_key)
  export SECRET_KEY
fi

"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput --verbosity 0
"$BIN/python" deploy/proxy.py cert
"$BIN/python" deploy/proxy.py check

port=""
[ "$HTTPS_PORT" = 443 ] || port=":$HTTPS_PORT"
echo ""
echo "  Chat server on  https://$SERVER_NAME$port/  (nginx, $WEB_PROCESSES daphne processes)"
echo "  Certificate     ${TLS_CERT:-var/tls/cert.pem}"
echo ""
exec "$BIN/honcho" start -f deploy/Procfile -p "$WEB_PORT" -c "web=$WEB_PROCESSES"
