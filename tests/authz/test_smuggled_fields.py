"""PATCH bodies that carry fields the caller must not set: ids, authorship, seq, staff, role.

Each caller here may make the change itself (an admin renaming the chat, the owner changing a
role, Tom editing his own message or scheduled message, Mia renaming herself), so a refusal can
only come from the smuggled field. The server refuses the whole body (400, as every input
serializer does with a field it does not know) and the database stays exactly as it was; the same
body without the smuggled field then goes through.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from chats.models import ChatType
from tests.authz.world import World, snapshot, world_build


@dataclass(frozen=True)
class Endpoint:
    path: str
    column: str  # whose token: a column of the matrix, or "author" for Tom
    body: dict[str, Any]  # the legitimate change


ENDPOINTS = {
    "chat": Endpoint("chats/{chat}/", "admin", {"title": "Renamed"}),
    "member": Endpoint("chats/{chat}/members/{target}/", "owner", {"role": "admin"}),
    "message": Endpoint("chats/{chat}/messages/{msg}/", "author", {"text": "edited"}),
    "scheduled message": Endpoint("chats/{chat}/scheduled/{sched}/", "author", {"text": "edited"}),
    "users/me": Endpoint("users/me/", "member", {"name": "Renamed"}),
}

# What each smuggled field tries to point at: another chat, another user, a forged author...
SMUGGLED: dict[str, Callable[[World], Any]] = {
    "id": lambda w: w.placeholders["mine"],
    "user_id": lambda w: w.users["olivia"].pk,
    "author": lambda w: {"id": w.users["olivia"].pk, "name": "Olivia"},
    "chat_id": lambda w: w.placeholders["mine"],
    "seq": lambda w: 999,
    "is_staff": lambda w: True,
    "role": lambda w: "owner",
}
# Fields that only make sense for some endpoints, tried there too.
EXTRA: dict[str, dict[str, Callable[[World], Any]]] = {
    "chat": {
        "chat_type": lambda w: ChatType.CHANNEL,
        "creator_user_id": lambda w: w.users["adam"].pk,
        "last_seq": lambda w: 999,
        "my_role": lambda w: "owner",
    },
    "message": {"deleted": lambda w: True, "edited": lambda w: False},
    "scheduled message": {"status": lambda w: "sent", "message_id": lambda w: w.message.pk},
    "users/me": {
        "is_superuser": lambda w: True,
        "is_active": lambda w: False,
        "login": lambda w: "x",
    },
}


def _cases() -> list[Any]:
    cases = []
    for name, endpoint in ENDPOINTS.items():
        fields = {**SMUGGLED, **EXTRA.get(name, {})}
        for field_name in fields:
            if field_name in endpoint.body:  # role is what a member PATCH changes
                continue
            cases.append(pytest.param(name, field_name, id=f"PATCH {name} with {field_name}"))
    return cases


@pytest.mark.parametrize(("endpoint_name", "field_name"), _cases())
def test_a_smuggled_field_changes_nothing(endpoint_name: str, field_name: str, db: None) -> None:
    endpoint = ENDPOINTS[endpoint_name]
    world = world_build(
        ChatType.GROUP, "member" if endpoint.column == "author" else endpoint.column
    )
    token = world.target_access if endpoint.column == "author" else world.access
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = "/api/" + world.fill(endpoint.path)
    fields = {**SMUGGLED, **EXTRA.get(endpoint_name, {})}
    before = snapshot()

    response = client.patch(
        url, {**endpoint.body, field_name: fields[field_name](world)}, format="json"
    )

    assert response.status_code == 400, response.content[:300]
    assert field_name in response.json()
    assert snapshot() == before
    assert client.patch(url, endpoint.body, format="json").status_code == 200
