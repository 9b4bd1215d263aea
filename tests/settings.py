"""The test suite's settings: the project's, from the same environment, plus speed-ups.

DATABASE_URL, REDIS_URL and CELERY_BROKER_URL pick the real services exactly as in production.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789abcdef0123456789abcdef")
# The test client and the test servers speak plain http; tests/deploy checks the https defaults.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Files uploaded to test servers stay out of the repository's var/ (in-process tests use a
# directory of their own each: the file_store fixture in tests/conftest.py).
os.environ.setdefault(
    "ATTACHMENT_ROOT", os.path.join(tempfile.gettempdir(), "chat-test-attachments")
)

from chatproject.settings import *  # noqa: E402, F403
from chatproject.settings import REST_FRAMEWORK  # noqa: E402

# Hashing passwords slowly is a defence in production and only a cost in tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Rates high enough that only the tests about throttling ever meet them.
_SCOPES: dict[str, str] = REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # type: ignore[assignment]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {scope: "10000/min" for scope in _SCOPES},
}
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True

# Socket limits likewise: the tests about them set their own.
WS_MESSAGE_RATE = (1000.0, 1000.0)
WS_FRAME_RATE = (1000.0, 1000.0)
