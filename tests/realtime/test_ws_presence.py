"""Presence: online while a user has a socket anywhere, offline after the last one closes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from chats.models import Connection
from chats.services.presence import presence_sweep
from tests.factories import chat_factory
from tests.realtime.conftest import sync

pytestmark = pytest.mark.django_db(transaction=True)


async def status_of(user: User) -> str:
    await sync(user.refresh_from_db)()
    return user.status


async def test_the_first_socket_makes_a_user_online_for_those_who_share_a_chat(
    connect, user, other_user
):
    await sync(chat_factory)(user, [other_user])
    alice = await connect(user)

    await connect(other_user)

    event = await alice.next_of("presence")
    assert event == {"type": "presence", "user_id": other_user.pk, "status": "online"}
    assert await status_of(other_user) == "online"


async def test_a_user_stays_online_until_the_last_socket_closes(connect, user, other_user):
    await sync(chat_factory)(user, [other_user])
    alice = await connect(user)
    laptop = await connect(other_user)
    phone = await connect(other_user)
    await alice.next_of("presence")

    await laptop.disconnect()
    assert await alice.silent()
    assert await status_of(other_user) == "online"
    await phone.disconnect()

    event = await alice.next_of("presence")
    assert event["status"] == "offline"
    assert await status_of(other_user) == "offline"
    await sync(other_user.refresh_from_db)()
    assert other_user.last_seen is not None


async def test_away_is_set_by_the_client_and_announced(connect, user, other_user, api_for):
    await sync(chat_factory)(user, [other_user])
    alice = await connect(user)
    await connect(other_user)
    await alice.next_of("presence")

    response = await sync((await sync(api_for)(other_user)).patch)(
        "/api/users/me/", {"status": "away"}, format="json"
    )

    assert response.status_code == 200
    event = await alice.next_of("presence")
    assert event == {"type": "presence", "user_id": other_user.pk, "status": "away"}


async def test_presence_is_not_sent_to_strangers(connect, user, other_user):
    alice = await connect(user)

    await connect(other_user)

    assert await alice.silent()


async def test_the_sweep_ends_sockets_whose_process_stopped_heartbeating(connect, user, other_user):
    await sync(chat_factory)(user, [other_user])
    alice = await connect(user)
    await connect(other_user)
    await alice.next_of("presence")
    stale = timezone.now() - timedelta(minutes=10)
    await sync(Connection.objects.filter(user=other_user).update)(heartbeat=stale)

    swept = await sync(presence_sweep)()

    assert swept == 1
    assert await status_of(other_user) == "offline"
    assert (await alice.next_of("presence"))["status"] == "offline"
