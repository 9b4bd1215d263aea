"""The attachments' store in S3 or any S3-compatible server (ATTACHMENT_STORAGE=s3), read from
the environment: AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL (for a store other than Amazon's),
AWS_S3_REGION_NAME, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the machine's own AWS
credentials when unset), AWS_S3_CONNECT_TIMEOUT and AWS_S3_READ_TIMEOUT."""

from collections.abc import Mapping
from typing import Any

from botocore.config import Config


def s3_storage(env: Mapping[str, str]) -> dict[str, Any]:
    """A STORAGES entry for django-storages' S3Storage."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.get("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": env.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env.get("AWS_S3_REGION_NAME") or None,
            "access_key": env.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env.get("AWS_SECRET_ACCESS_KEY") or None,
            # Objects are private: every download goes through the app's checks.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # A download is fetched to a temporary file that spills to disk past this.
            "max_memory_size": 1024 * 1024,
            # A store that is down answers a 503 within seconds, not after boto's long retries.
            "client_config": Config(
                connect_timeout=float(env.get("AWS_S3_CONNECT_TIMEOUT", "3")),
                read_timeout=float(env.get("AWS_S3_READ_TIMEOUT", "30")),
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        },
    }
