"""Posting costs a fixed, small number of queries, whatever the chat's size or history.

The socket's message.send and the REST post run the same path: the access check, then
message_send (membership, the client_id lookup when one is given, the seq taken under the chat
row's lock, the insert, the sender's read marker), inside one savepoint.
"""

from typing import cast

import pytest

from accounts.models import User
from chats import selectors
from chats.services.messages import message_send
from tests.factories import UserFactory, chat_factory, messages_factory

SEND_QUERIES = 8  # access, membership, client_id, savepoint, seq, insert, read marker, release


@pytest.mark.parametrize("members", [1, 50])
def test_a_post_costs_the_same_queries_in_a_small_or_busy_chat(
    user, members, django_assert_max_num_queries
):
    chat = chat_factory(user, [cast(User, UserFactory()) for _ in range(members)])
    messages_factory(chat, user, 30 if members > 1 else 1)

    with django_assert_max_num_queries(SEND_QUERIES):
        found = selectors.chat_access(user=user, chat_id=chat.pk)
        message_send(chat=found, user=user, text="hello", client_id="c-1")


def test_a_repeated_client_id_costs_less_than_a_post(
    user, other_user, django_assert_max_num_queries
):
    chat = chat_factory(user, [other_user])
    message_send(chat=chat, user=user, text="once", client_id="c-1")

    with django_assert_max_num_queries(3):
        found = selectors.chat_access(user=user, chat_id=chat.pk)
        message_send(chat=found, user=user, text="once", client_id="c-1")
