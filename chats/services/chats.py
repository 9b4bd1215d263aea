"""Creating, renaming and deleting chats."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from rest_framework import exceptions

from accounts.models import User
from chats import selectors
from chats.models import MANAGER_ROLES, MEMBER_IDS_MAX, Chat, ChatType, Membership, Role
from chats.realtime import events
from chats.services.access import active_users, membership_get, require_role


@transaction.atomic
def chat_create(
    *,
    creator: User,
    chat_type: ChatType,
    title: str = "",
    description: str = "",
    member_ids: Iterable[int] = (),
) -> tuple[Chat, bool]:
    """Create a chat with its creator as owner. Returns (chat, created).

    A direct chat is unique per pair: asking for an existing one returns it with created False.
    """
    other_ids = set(member_ids) - {creator.pk}
    if chat_type == ChatType.DIRECT:
        return _direct_chat_get_or_create(creator=creator, member_ids=set(member_ids))
    if not title:
        raise exceptions.ValidationError({"title": ["A group or channel needs a title."]})
    if len(other_ids) > MEMBER_IDS_MAX:
        raise exceptions.ValidationError({"member_ids": [f"At most {MEMBER_IDS_MAX} members."]})
    others = active_users(other_ids, field="member_ids")
    chat = Chat.objects.create(
        chat_type=chat_type, title=title, description=description, creator=creator
    )
    memberships = Membership.objects.bulk_create(
        [Membership(chat=chat, user=creator, role=Role.OWNER)]
        + [Membership(chat=chat, user=user, role=Role.MEMBER) for user in others]
    )
    events.chat_created(chat, memberships)
    return chat, True


def _direct_chat_get_or_create(*, creator: User, member_ids: set[int]) -> tuple[Chat, bool]:
    if len(member_ids) != 1 or creator.pk in member_ids:
        raise exceptions.ValidationError(
            {"member_ids": ["A direct chat needs exactly one other user."]}
        )
    (other,) = active_users(member_ids, field="member_ids")
    low, high = sorted((creator.pk, other.pk))
    key = f"{low}:{high}"
    existing = Chat.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            chat = Chat.objects.create(chat_type=ChatType.DIRECT, direct_key=key, creator=creator)
            memberships = Membership.objects.bulk_create(
                [
                    Membership(chat=chat, user=creator, role=Role.OWNER),
                    Membership(chat=chat, user=other, role=Role.MEMBER),
                ]
            )
    except IntegrityError:  # the other user opened the same chat a moment ago
        return Chat.objects.get(direct_key=key), False
    events.chat_created(chat, memberships)
    return chat, True


@transaction.atomic
def chat_update(
    *, chat: Chat, actor: User, title: str | None = None, description: str | None = None
) -> Chat:
    membership = membership_get(chat=chat, user=actor)
    require_role(membership, MANAGER_ROLES, "edit it")
    if title is not None:
        if not title and chat.chat_type != ChatType.DIRECT:
            raise exceptions.ValidationError({"title": ["A group or channel needs a title."]})
        chat.title = title
    if description is not None:
        chat.description = description
    chat.save(update_fields=["title", "description", "updated"])
    events.chat_updated(chat, selectors.chat_summary(chat=chat))
    return chat


@transaction.atomic
def chat_delete(*, chat: Chat, actor: User) -> None:
    membership = membership_get(chat=chat, user=actor)
    require_role(membership, (Role.OWNER,), "delete it")
    chat_id = chat.pk
    member_ids = list(Membership.objects.filter(chat=chat).values_list("user_id", flat=True))
    chat.delete()
    events.chat_deleted(chat_id, member_ids)
