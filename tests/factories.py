"""Factories for the objects a test needs. Chats and messages go through the services, so a test's
world is built by the same rules as production's."""

from collections.abc import Sequence

import factory

from accounts.models import User
from chats.models import Chat, ChatType, Message
from chats.services.chats import chat_create
from chats.services.messages import message_send

PASSWORD = "correct-horse-battery-staple"  # noqa: S105


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    login = factory.Sequence(lambda n: f"user{n}")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: object = None) -> None:
        if create:  # set_password changed the instance after its first save
            instance.save()


def chat_factory(
    owner: User,
    members: Sequence[User] = (),
    *,
    chat_type: ChatType = ChatType.GROUP,
    title: str = "Team",
) -> Chat:
    chat, _ = chat_create(
        creator=owner,
        chat_type=chat_type,
        title="" if chat_type == ChatType.DIRECT else title,
        member_ids=[member.pk for member in members],
    )
    return chat


def messages_factory(chat: Chat, author: User, count: int, text: str = "message") -> list[Message]:
    return [
        message_send(chat=chat, user=author, text=f"{text} {n}")[0] for n in range(1, count + 1)
    ]
