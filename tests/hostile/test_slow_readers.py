"""Members who stop reading while their chat is busy: a phone that went to sleep mid-download, or
a client that opens sockets only to never read them.

The server holds at most a few MiB for such a socket, then drops it (no close frame could get
past what it has not read; its client sees 1006, reconnects and syncs). The members who read
get every message in order, on time, and see the stalled member go offline.
"""

import asyncio
import time

import pytest

from accounts.models import User, UserStatus
from chats.models import Chat
from chats.services.messages import message_send
from tests.factories import UserFactory, chat_factory
from tests.hostile.conftest import RawSocket, client, probing
from tests.realtime.conftest import access_token, sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

STALLED = 5
POSTS_MAX = 400
SEND_BUFFER_MAX_MB = 4  # chatproject.overrides.daphne.SEND_BUFFER_MAX_BYTES
# 10,000 characters that JSON escapes to six bytes each: a 60 KB frame per message.
BIG_TEXT = "\u00e9" * 10_000


async def test_members_who_never_read_are_dropped_and_the_others_chat_on(server, user, other_user):
    carol = await sync(UserFactory)(login="carol")
    dave = await sync(UserFactory)(login="dave")
    chat = await sync(chat_factory)(user, [other_user, carol, dave])
    token = await access_token(carol)
    stalled = []
    for _ in range(STALLED):
        raw = RawSocket(server, receive_buffer=4096)
        raw.handshake(token)  # and then never reads again
        stalled.append(raw)
    baseline = server.rss_mb()
    rss = [baseline]
    posting = True

    def post_while_busy(chat: Chat, author: User) -> int:
        posted = 0
        while posting and posted < POSTS_MAX:
            message_send(chat=chat, user=author, text=BIG_TEXT)
            posted += 1
        return posted

    async with client(server, user) as alice, client(server, other_user) as bob:
        async with probing(alice, bob, chat.pk):
            poster = asyncio.ensure_future(sync(post_while_busy)(chat, dave))
            # Unless the server drops them, these sockets are owed 24 MB each once the poster is
            # done; that, and a few seconds more, is as long as the test waits.
            give_up: float | None = None
            while len(dropped := [raw for raw in stalled if raw.ended_by_server()]) < STALLED:
                if poster.done() and give_up is None:
                    give_up = time.monotonic() + 5
                if give_up is not None and time.monotonic() > give_up:
                    break
                await asyncio.sleep(0.25)
                rss.append(server.rss_mb())
            posting = False
            posted = await poster

    for raw in stalled:
        raw.close()
    print(f"posted {posted} messages of 60 KB; RSS {baseline:.0f} -> {max(rss):.0f} MiB")
    assert len(dropped) == STALLED
    assert server.alive()
    # The stalled sockets held at most their limit each, plus what the busy chat costs anyway.
    assert max(rss) - baseline < STALLED * SEND_BUFFER_MAX_MB + 64, rss
    await sync(carol.refresh_from_db)()
    assert carol.status == UserStatus.OFFLINE  # as the other members now see her
