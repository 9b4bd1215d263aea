"""Safe retries: a write sent again with the same `Idempotency-Key` gets the first answer.

A client that lost the answer to a POST, PUT, PATCH or DELETE under /api/ sends it again with the
same key: it gets the first answer (status and body) and nothing changes twice. The same key with
another request (another method or path, other data) is refused with 422. Keys are per user and
kept for 24 hours; anonymous calls (register, token) ignore the header, as they have no user.

The write and its record commit in one transaction, so a record exists exactly when the write
does: a second request with the key waits on the first one's row and then replays its answer. A
server error (5xx) rolls both back, and a retry runs the write afresh.
"""

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from accounts.models import IdempotencyRecord, User
from accounts.services import IDEMPOTENCY_KEPT_FOR
from chatproject.renderers import json_bytes

HEADER = "Idempotency-Key"
KEY_MAX = 64
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used for another request."
    default_code = "idempotency_key_reused"


class Replay(Exception):
    """The key's first answer, to send instead of running the view."""

    def __init__(self, record: IdempotencyRecord) -> None:
        data = json.loads(record.body) if record.body else None
        self.response = Response(data, status=record.status_code)


def request_fingerprint(request: Request) -> str:
    """Of the method, the path and the data: JSON compared as data (key order and spacing do not
    matter), a form by its fields, an upload by its files' bytes."""
    digest = hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())
    data: Any = request.data
    if hasattr(data, "lists"):  # a form or multipart body; its files are hashed below
        data = sorted((name, values) for name, values in data.lists() if name not in request.FILES)
    digest.update(json.dumps(data, cls=JSONEncoder, sort_keys=True).encode())
    for name, upload in sorted(request.FILES.items()):
        digest.update(name.encode())
        for chunk in upload.chunks():
            digest.update(chunk)
    return digest.hexdigest()


def _claim(request: Request, user: User, key: str) -> IdempotencyRecord:
    """The record this request will fill in, or Replay / KeyReused for a key already used."""
    if not 1 <= len(key) <= KEY_MAX:
        raise exceptions.ValidationError({HEADER: [f"1 to {KEY_MAX} characters."]})
    fingerprint = request_fingerprint(request)
    IdempotencyRecord.objects.filter(
        user=user, key=key, created__lt=timezone.now() - IDEMPOTENCY_KEPT_FOR
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=user, key=key, fingerprint=fingerprint, status_code=0
            )
    except IntegrityError:  # used before; a request with it in flight has committed by now
        first = IdempotencyRecord.objects.get(user=user, key=key)
    if first.fingerprint != fingerprint:
        raise KeyReused()
    raise Replay(first)


class IdempotentWrites:
    """For API views that write: add before the view class in the bases."""

    idempotency_record: IdempotencyRecord | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method in WRITES and HEADER in request.headers:
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # auth, permissions, rates
        key, user = request.headers.get(HEADER), request.user
        if key is not None and request.method in WRITES and isinstance(user, User):
            self.idempotency_record = _claim(request, user, key)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Replay):
            return exc.response
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        return response

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        record = self.idempotency_record
        if record is not None and response.status_code >= 500:
            transaction.set_rollback(True)  # neither the write nor its record: a retry runs it
        elif record is not None:
            record.status_code = response.status_code
            data = getattr(response, "data", None)
            record.body = "" if data is None else json_bytes(data).decode()
            record.save(update_fields=["status_code", "body"])
        return response
