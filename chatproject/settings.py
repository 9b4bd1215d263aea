"""Settings, read from the environment with defaults that work on a laptop.

The embedded default needs no servers: SQLite under var/, an in-memory channel layer, a
local-memory cache and Celery's in-memory transport. Set DATABASE_URL, REDIS_URL and
CELERY_BROKER_URL (or AMQP_URI) to run on PostgreSQL, Redis and RabbitMQ.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from chatproject.storage import s3_storage

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-only-key-set-SECRET_KEY-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
if "*" in ALLOWED_HOSTS:
    # The WebSocket origin check allows exactly these hosts; "*" would let any site's page open
    # sockets with a visitor's session cookie.
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts; '*' is not allowed.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "accounts",
    "chats",
]

MIDDLEWARE = [
    "chatproject.middleware.ReleaseViewMiddleware",
    "chatproject.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "chatproject.middleware.ContentSecurityPolicyMiddleware",
    "chatproject.middleware.ApiNoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "chatproject.wsgi.application"
ASGI_APPLICATION = "chatproject.asgi.application"

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # Each server process runs all its database work on one thread
        # (chatproject/overrides/django.py), so it keeps one connection, checked before its next
        # use after a pause.
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = (
        "chatproject.overrides.postgresql"  # checks idle connections only
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; a busy timeout makes concurrent posts wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache ----------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# "pubsub" (the default; docs/channel-layer.md has the figures) or "core".
CHANNEL_LAYER = os.environ.get("CHANNEL_LAYER", "pubsub")
CHANNEL_LAYER_LIMITS = {
    # The layer's only channels are the server processes' (chats/realtime/fanout.py), each
    # queueing every event for all of its sockets; the default capacity of 100 would silently drop
    # a burst.
    "capacity": int(os.environ.get("CHANNEL_CAPACITY", "10000")),
    # The default group_expiry of a day silently unsubscribes processes with long-lived sockets.
    "group_expiry": int(os.environ.get("CHANNEL_GROUP_EXPIRY", str(7 * 24 * 3600))),
}


def redis_sentinel_address(entry: str) -> tuple[str, int]:
    """One sentinel's address from "host:port" (or "[v6 address]:port")."""
    host, _, port = entry.rpartition(":")
    if not host or not port.isdigit():
        raise ImproperlyConfigured(f"REDIS_SENTINELS: {entry!r} is not host:port.")
    return host.strip("[]"), int(port)


# Redis behind Sentinel (docs/deployment.md): the sentinels, "host:port,host:port", and the name
# of the master they watch. Set, the channel layer and the cache ask a sentinel where the master
# is, and ask again when a connection to it fails, so they follow a failover; REDIS_URL then gives
# only the database number, the login and whether to use TLS (rediss://), and its host and port
# are not used. REDIS_SENTINEL_PASSWORD is the sentinels' own password, if they have one.
REDIS_SENTINELS = [redis_sentinel_address(entry) for entry in env_list("REDIS_SENTINELS", "")]
REDIS_SENTINEL_MASTER = os.environ.get("REDIS_SENTINEL_MASTER", "")
if bool(REDIS_SENTINELS) != bool(REDIS_SENTINEL_MASTER):
    raise ImproperlyConfigured("Set REDIS_SENTINELS and REDIS_SENTINEL_MASTER together.")
if REDIS_SENTINELS and not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_SENTINELS needs REDIS_URL too, for the database number and the login: "
        "e.g. redis://:password@redis-master/0 (its host and port are not used)."
    )
# A sentinel answers where the master is within milliseconds, or is skipped for the next one.
REDIS_SENTINEL_KWARGS: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
if os.environ.get("REDIS_SENTINEL_PASSWORD"):
    REDIS_SENTINEL_KWARGS["password"] = os.environ["REDIS_SENTINEL_PASSWORD"]

# redis-py's default 5 s read timeout equals channels-redis's 5 s blocking pop, so an idle
# socket's receive loop would die with a TimeoutError; the layer's reads wait longer.
REDIS_LAYER_TIMEOUTS = {"socket_timeout": 15, "socket_connect_timeout": 5}
REDIS_LAYER_HOST: dict[str, Any] = {"address": REDIS_URL, **REDIS_LAYER_TIMEOUTS}
REDIS_CACHE_OPTIONS: dict[str, Any] = {}
if REDIS_SENTINELS:
    from urllib.parse import unquote, urlsplit

    import redis.sentinel

    _redis_url = urlsplit(REDIS_URL)
    _redis_login: dict[str, Any] = {"db": int(_redis_url.path.strip("/") or 0)}
    if _redis_url.username:
        _redis_login["username"] = unquote(_redis_url.username)
    if _redis_url.password:
        _redis_login["password"] = unquote(_redis_url.password)
    # channels-redis builds a SentinelConnectionPool from these (channels_redis.utils.create_pool),
    # in both layers.
    REDIS_LAYER_HOST = {
        "sentinels": REDIS_SENTINELS,
        "master_name": REDIS_SENTINEL_MASTER,
        "sentinel_kwargs": REDIS_SENTINEL_KWARGS,
        **_redis_login,
        **({"ssl": True} if _redis_url.scheme == "rediss" else {}),
        **REDIS_LAYER_TIMEOUTS,
    }
    # Django's RedisCache builds its pools with pool_class.from_url(LOCATION, **the rest): the
    # URL's database and login, the master's address from the sentinels. With timeouts, so that a
    # master whose host vanished fails a call after 5 s and the next one asks the sentinels again.
    REDIS_CACHE_OPTIONS = {
        "pool_class": "redis.sentinel.SentinelConnectionPool",
        "service_name": REDIS_SENTINEL_MASTER,
        "sentinel_manager": redis.sentinel.Sentinel(
            REDIS_SENTINELS, sentinel_kwargs=REDIS_SENTINEL_KWARGS
        ),
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        **(
            {"connection_class": redis.sentinel.SentinelManagedSSLConnection}
            if _redis_url.scheme == "rediss"
            else {}
        ),
    }
if not REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chatproject.overrides.channels.InMemoryChannelLayer",
            "CONFIG": CHANNEL_LAYER_LIMITS,
        }
    }
    CACHES: dict[str, Any] = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
else:
    if CHANNEL_LAYER == "pubsub":
        # One PUBLISH per event, fanned out inside each server process. It keeps no queue in
        # Redis, so it has neither a capacity nor a group expiry to trip over.
        layer = {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_LAYER_HOST]},
        }
    else:
        layer = {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_LAYER_HOST], **CHANNEL_LAYER_LIMITS},
        }
    CHANNEL_LAYERS = {"default": layer}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "chat",
            **({"OPTIONS": REDIS_CACHE_OPTIONS} if REDIS_CACHE_OPTIONS else {}),
        }
    }

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("AMQP_URI") or "memory://"
CELERY_TIMEZONE = os.environ.get("TZ", "UTC")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "2"))
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_WORKER_QUEUES = "celery,scheduled,maintenance"
CELERY_TASK_QUEUES = [Queue(name) for name in CELERY_WORKER_QUEUES.split(",")]
# Scheduled delivery and upkeep each have a queue, so a backlog of one never delays the other.
CELERY_TASK_ROUTES = {
    "chats.tasks.scheduled_message*": {"queue": "scheduled"},
    "chats.tasks.presence_sweep": {"queue": "maintenance"},
    "chats.tasks.tokens_flush_expired": {"queue": "maintenance"},
    "chats.tasks.idempotency_records_purge": {"queue": "maintenance"},
    "chats.tasks.scheduled_messages_purge": {"queue": "maintenance"},
    "chats.tasks.attachments_sweep": {"queue": "maintenance"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Run the worker and beat inside the server process, on Celery's in-memory transport: what
# `make run` does, so scheduled messages arrive with no broker server.
EMBEDDED_CELERY = env_bool("EMBEDDED_CELERY", False)
BROKER_HEALTH_TIMEOUT = float(os.environ.get("BROKER_HEALTH_TIMEOUT", "2"))

# --- Auth --------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {
        # The default attributes (username, email, ...) are not fields of this user model.
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("login", "name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The demo pages (chats/web.py): where an anonymous visitor is sent, and where signing in leads.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(os.environ.get("ACCESS_TOKEN_SECONDS", "900"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("REFRESH_TOKEN_DAYS", "14"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Access tokens carry a hash of the password hash, so a password change revokes them all.
    "CHECK_REVOKE_TOKEN": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.credentials.CredentialsJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["chatproject.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["chats.api.renderers.SignedURLsJSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "chatproject.openapi.ChatAutoSchema",
    "EXCEPTION_HANDLER": "chatproject.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "register": os.environ.get("THROTTLE_REGISTER", "10/hour"),
        "login": os.environ.get("THROTTLE_LOGIN", "20/min"),
        "login_user": os.environ.get("THROTTLE_LOGIN_USER", "10/min"),
        "message_send": os.environ.get("THROTTLE_MESSAGE_SEND", "120/min"),
        "chat_create": os.environ.get("THROTTLE_CHAT_CREATE", "60/hour"),
        "message_edit": os.environ.get("THROTTLE_MESSAGE_EDIT", "60/min"),
        "message_delete": os.environ.get("THROTTLE_MESSAGE_DELETE", "60/min"),
        "report": os.environ.get("THROTTLE_REPORT", "30/hour"),
        "profile": os.environ.get("THROTTLE_PROFILE", "30/min"),
        "read": os.environ.get("THROTTLE_READ", "300/min"),
        "reaction": os.environ.get("THROTTLE_REACTION", "120/min"),
        "pin": os.environ.get("THROTTLE_PIN", "30/min"),
        "chat_settings": os.environ.get("THROTTLE_CHAT_SETTINGS", "30/min"),
        "upload": os.environ.get("THROTTLE_UPLOAD", "60/hour"),
        "download": os.environ.get("THROTTLE_DOWNLOAD", "600/min"),
        "password_change": os.environ.get("THROTTLE_PASSWORD_CHANGE", "5/hour"),
    },
    "NUM_PROXIES": int(os.environ["NUM_PROXIES"]) if os.environ.get("NUM_PROXIES") else 0,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Chat API",
    "DESCRIPTION": (
        "A self-hosted messenger backend. Authenticate with `POST /api/auth/token/` and send "
        "`Authorization: Bearer <access>`. Real-time events travel over the WebSocket at `/ws/`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chatproject.openapi.document_key_reuse",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ChatTypeEnum": "chats.models.ChatType",
        "RoleEnum": "chats.models.Role",
        "UserStatusEnum": "accounts.models.UserStatus",
    },
}


# --- WebSocket -----------------------------------------------------------------------------------
# Frames a socket may send: (a second on average, in a burst).
def env_rate(name: str, default: str) -> tuple[float, float]:
    rate, burst = os.environ.get(name, default).split(",")
    return float(rate), float(burst)


WS_MESSAGE_RATE = env_rate("WS_MESSAGE_RATE", "10,20")
WS_FRAME_RATE = env_rate("WS_FRAME_RATE", "20,40")
# Who may register: "open" (anyone), "invite" (with an invite code made in the admin), "closed".
REGISTRATION = os.environ.get("REGISTRATION", "open")
if REGISTRATION not in ("open", "invite", "closed"):
    raise ImproperlyConfigured("REGISTRATION must be open, invite or closed.")
# Pending scheduled messages, per user and per chat (all its members together).
SCHEDULED_PENDING_PER_USER = int(os.environ.get("SCHEDULED_PENDING_PER_USER", "100"))
SCHEDULED_PENDING_PER_CHAT = int(os.environ.get("SCHEDULED_PENDING_PER_CHAT", "500"))
# Open sockets per user, on all processes together: phones, tabs and desktops.
WS_SOCKETS_PER_USER = int(os.environ.get("WS_SOCKETS_PER_USER", "20"))
TYPING_INTERVAL_SECONDS = 3
# A socket refreshes its presence row this often; the sweep ends rows older than PRESENCE_STALE.
PRESENCE_HEARTBEAT_SECONDS = int(os.environ.get("PRESENCE_HEARTBEAT_SECONDS", "30"))
PRESENCE_STALE_SECONDS = int(os.environ.get("PRESENCE_STALE_SECONDS", "90"))

# --- Limits ------------------------------------------------------------------------------------
REQUEST_BODY_MAX_BYTES = 256 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES

# --- Attachments ---------------------------------------------------------------------------------
# Per file, and per user in total (uploads and posted files that are not erased).
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(25 * 1024 * 1024)))
ATTACHMENT_QUOTA_BYTES = int(os.environ.get("ATTACHMENT_QUOTA_BYTES", str(1024 * 1024 * 1024)))
# An upload's body: the file and the multipart framing around it.
ATTACHMENT_BODY_MAX_BYTES = ATTACHMENT_MAX_BYTES + 64 * 1024
# Images larger than this many pixels are refused before they are decoded (decompression bombs).
ATTACHMENT_IMAGE_MAX_PIXELS = int(os.environ.get("ATTACHMENT_IMAGE_MAX_PIXELS", "25000000"))
# How long a download URL holds: at most an hour.
ATTACHMENT_URL_MAX_AGE = min(int(os.environ.get("ATTACHMENT_URL_MAX_AGE", "3600")), 3600)
# Behind nginx: the internal location that serves the attachments' directory, e.g.
# "/protected-attachments/". The app checks access, then hands the bytes to the proxy.
ATTACHMENT_ACCEL_REDIRECT = os.environ.get("ATTACHMENT_ACCEL_REDIRECT", "")
# Uploads run on threads of their own, each with a database connection, off the thread every
# other request and socket shares (chatproject/overrides/django.py).
ATTACHMENT_UPLOAD_THREADS = int(os.environ.get("ATTACHMENT_UPLOAD_THREADS", "2"))
# Uploads stream to a temporary file as they arrive, never whole into memory.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
# "filesystem" (under ATTACHMENT_ROOT) or "s3" (any S3-compatible store: chatproject/storage.py).
ATTACHMENT_STORAGE = os.environ.get("ATTACHMENT_STORAGE", "filesystem")
ATTACHMENT_ROOT = Path(os.environ.get("ATTACHMENT_ROOT", str(VAR_DIR / "attachments")))
if ATTACHMENT_STORAGE == "filesystem":
    _attachment_storage: dict[str, Any] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": ATTACHMENT_ROOT, "base_url": None},
    }
elif ATTACHMENT_STORAGE == "s3":
    _attachment_storage = s3_storage(os.environ)
else:
    raise ImproperlyConfigured("ATTACHMENT_STORAGE must be filesystem or s3.")

# --- I18n, time, static --------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TZ", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or VAR_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "attachments": _attachment_storage,
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security ------------------------------------------------------------------------------------
# Production defaults are HTTPS-only; DEBUG (`make run`) and the tests serve plain http.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Plain-http requests are redirected to https, except the load balancer's health probe.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Sent on https responses only (browsers ignore it over http), so it is safe as a default.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent on HTML pages by chatproject.middleware.ContentSecurityPolicyMiddleware: scripts and styles
# only from our own static files, so that no injected markup can run. The admin and the API docs
# (Swagger UI) use inline scripts and styles and keep Django's defaults.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)
CONTENT_SECURITY_POLICY_EXEMPT_PATHS = ("/api/", "/admin/")
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"over_capacity": {"()": "chatproject.overrides.channels_redis.OverCapacityFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "channels_redis.core": {"level": "INFO", "filters": ["over_capacity"]},
        # The embedded beat dispatches every 2 s; its INFO lines would drown `make run`'s log.
        **({"celery": {"level": "WARNING"}} if EMBEDDED_CELERY else {}),
    },
}
