"""A user holds at most WS_SOCKETS_PER_USER open sockets, on all processes together (security
review finding 12: one user held 40). One more is told why and closed; closing one frees a place."""

import pytest
from django.test import override_settings

from chats.models import Connection
from tests.realtime.conftest import access_token, sync

pytestmark = pytest.mark.django_db(transaction=True)


@override_settings(WS_SOCKETS_PER_USER=2)
async def test_a_socket_past_the_cap_is_told_and_closed_and_a_closed_one_frees_a_place(
    connect, raw_socket, user, other_user
):
    phone, laptop = await connect(user), await connect(user)

    third = raw_socket(subprotocols=["bearer", await access_token(user)])
    connected, _ = await third.connect()
    assert connected
    error = await third.expect("error")
    assert error["code"] == "too_many_sockets"
    assert await third.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}
    assert await sync(Connection.objects.filter(user=user).count)() == 2

    # Someone else is not held to Alice's count.
    await connect(other_user)
    await phone.disconnect()
    again = await connect(user)
    assert again.hello["user"]["id"] == user.pk
    await laptop.send_json_to({"type": "ping"})
    assert await laptop.expect("pong") == {"type": "pong"}
