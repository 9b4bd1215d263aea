"""Schemathesis calls every operation of /api/schema/ with generated input, signed in as a real
user who owns chats with members, messages and scheduled messages.

What a client author sees: whatever they send, the answer is never a 5xx, and its status code,
content type, headers and body are the ones the schema promises.

Random ids and credentials would almost always meet a 404 or a 401 and never reach the code
behind them, so most generated ids are swapped for ids that exist, and some bodies get the user's
real login, password or refresh token. The rest stay as generated, so unknown ids are fuzzed too.

The run is bounded (max_examples per operation) and deterministic (derandomized, a fixed seed, no
example database), so it costs the same on every CI run and cannot flake.
"""

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import EndpointEnumerator
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.services import tokens_issue
from chats.models import ChatType, Role
from chats.services.members import member_role_set
from chats.services.scheduling import message_schedule
from tests.factories import PASSWORD, UserFactory, chat_factory, messages_factory

# What the schema promises: no server error, and status code, content type, headers and body
# exactly as documented.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class _InTestTransaction:
    """The project's WSGI app, minus the close_old_connections signal handlers.

    Django closes the database connection at the end of every request; inside a test that would
    end the test's transaction (and with it the fixture data). Django's own test client disconnects
    the same handlers, for the same reason.
    """

    def __init__(self) -> None:
        self.handler = WSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start_response)
            try:
                return list(cast(Iterable[bytes], response))
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    _InTestTransaction(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261129,
            "generation": {"max-examples": 50, "deterministic": True, "database": "none"},
        }
    ),
)


def _chosen(value: Any) -> bool:
    """Four in five generated values are swapped for real ones. Deterministic in the value, so a
    failing example replays; a hash, because Hypothesis favours round numbers."""
    return zlib.crc32(repr(value).encode()) % 5 != 0


@dataclass
class World:
    """The signed-in user, what they can see by kind of id, and their current credentials."""

    user: User
    ids: dict[str, list[int]]
    password: str = PASSWORD
    _password_hash: str = ""
    _token: str = field(default="", repr=False)

    def bearer(self) -> str:
        """A valid access token, reissued after the fuzzer changed the password (which revokes
        every token of the user)."""
        self.user.refresh_from_db(fields=["password"])
        if self.user.password != self._password_hash:
            self._password_hash = self.user.password
            self._token = str(tokens_issue(user=self.user)["access"])
        return self._token

    def existing(self, kind: str, generated: Any) -> Any:
        text = str(generated)
        if not text.lstrip("-").isdigit() or not _chosen(generated):
            return generated  # not an integer (the coverage phase sends "null", "0.5"...): as is
        existing = self.ids[kind][int(text) % len(self.ids[kind])]
        # Keep the generated type: the schema declares some ids as strings with a pattern.
        return str(existing) if isinstance(generated, str) else existing

    def use_real_ids(self, case: Case) -> None:
        path = case.operation.path
        for name, value in (case.path_parameters or {}).items():
            case.path_parameters[name] = self.existing(_kind(path, name), value)
        if isinstance(case.query, dict) and "chat_id" in case.query:
            case.query["chat_id"] = self.existing("chat", case.query["chat_id"])

    def use_real_credentials(self, case: Case) -> None:
        body = case.body
        if not isinstance(body, dict) or not _chosen(body):
            return
        signing_in = case.operation.path == "/api/auth/token/"
        for key, value in body.items():
            if key == "refresh":
                body[key] = tokens_issue(user=self.user)["refresh"]
            elif key in {"login", "username"} and signing_in:
                body[key] = self.user.login
            elif key == "password" and signing_in or key == "old_password":
                body[key] = self.password
            elif key == "user_id":
                body[key] = self.existing("user", value)
            elif key == "member_ids" and isinstance(value, list):
                body[key] = [self.existing("user", member) for member in value]
            elif key == "send_at":
                body[key] = (timezone.now() + timedelta(minutes=1 + len(repr(value)))).isoformat()
            elif key == "new_password":
                body[key] = f"violet-kettle-{zlib.crc32(repr(value).encode())}"

    def after(self, case: Case, response: schemathesis.Response) -> None:
        # The coverage phase also sends other methods (OPTIONS answers 200) with the same body.
        changed = response.request.method == "POST" and response.status_code == 200
        if case.operation.path == "/api/users/me/password/" and changed:
            self.password = cast(dict[str, str], case.body)["new_password"]


def _kind(path: str, name: str) -> str:
    """Which kind of object a path parameter names."""
    if name == "chat_id" or (name == "id" and path.startswith("/api/chats/{id}/")):
        return "chat"
    if name == "message_id" or (name == "id" and "/messages/{id}/" in path):
        return "message"
    if name == "id" and "/scheduled/{id}/" in path:
        return "scheduled"
    return "user"


@pytest.fixture
def world(db: None) -> World:
    alice = cast(User, UserFactory(login="alice", name="Alice"))
    bob = cast(User, UserFactory(login="bob", name="Bob"))
    carol = cast(User, UserFactory(login="carol", name="Carol"))
    group = chat_factory(alice, [bob, carol], title="Team")
    member_role_set(chat=group, actor=alice, user_id=bob.pk, role=Role.ADMIN)
    channel = chat_factory(alice, [bob], chat_type=ChatType.CHANNEL, title="News")
    direct = chat_factory(alice, [bob], chat_type=ChatType.DIRECT)
    bobs = chat_factory(bob, [alice, carol], title="Bob's")  # alice is a plain member here
    messages = [
        *messages_factory(group, alice, 3),
        *messages_factory(group, bob, 3),
        *messages_factory(channel, alice, 2),
        *messages_factory(direct, bob, 2),
        *messages_factory(bobs, carol, 2),
    ]
    scheduled = [
        message_schedule(
            chat=chat, user=alice, text="later", send_at=timezone.now() + timedelta(hours=1)
        )
        for chat in (group, direct)
    ]
    return World(
        user=alice,
        ids={
            "chat": [chat.pk for chat in (group, channel, direct, bobs)],
            "message": [message.pk for message in messages],
            "user": [alice.pk, bob.pk, carol.pk],
            "scheduled": [item.pk for item in scheduled],
        },
    )


@schema.parametrize()
# One world per operation, shared by its examples on purpose: what one example created or deleted
# is part of what the next one meets, as for a real client.
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_its_schema_says(case: Case, world: World) -> None:
    """Whatever a client sends to any endpoint, it never gets a 5xx, and the status code,
    content type, headers and body are the ones the schema documents."""
    world.use_real_ids(case)
    world.use_real_credentials(case)

    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {world.bearer()}"}, checks=CHECKS
    )

    world.after(case, response)


def test_every_throttled_post_documents_429() -> None:
    """A client that posts too fast gets a 429 the schema told it about, so a throttle that fires
    during the run above is a documented answer, never a spurious failure."""
    throttled = {
        path.replace("{pk}", "{id}")  # as drf-spectacular names it
        for path, _, method, view in EndpointEnumerator().get_api_endpoints()
        if method == "POST" and getattr(view.cls, "throttle_classes", ())
    }
    documented = {
        path
        for path, item in schema.raw_schema["paths"].items()
        if "429" in item.get("post", {}).get("responses", {})
    }

    assert throttled
    assert throttled <= documented, throttled - documented
