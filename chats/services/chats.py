"""Creating, renaming and deleting chats, and a member's settings for one."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from rest_framework import exceptions

from accounts.models import User
from chats import selectors
from chats.models import (
    MANAGER_ROLES,
    MEMBER_IDS_MAX,
    Chat,
    ChatType,
    Departure,
    Membership,
    Role,
)
from chats.payloads import my_chat_payload
from chats.realtime import events
from chats.services.access import (
    active_users,
    membership_get,
    require_not_blocked,
    require_role,
)
from chats.services.versions import chat_version_next, user_versions_next


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
    require_not_blocked(creator, other_ids)
    chat = Chat.objects.create(
        chat_type=chat_type, title=title, description=description, creator=creator, version=1
    )
    roles = {creator.pk: Role.OWNER} | {user.pk: Role.MEMBER for user in others}
    _memberships_create(chat, roles)
    return chat, True


def _memberships_create(chat: Chat, roles: dict[int, Role]) -> None:
    """A new chat's members, all of its first version, each a change of their chat list."""
    user_versions = user_versions_next(roles)
    memberships = Membership.objects.bulk_create(
        Membership(
            chat=chat,
            user_id=user_id,
            role=role,
            version=chat.version,
            user_version=user_versions[user_id],
        )
        for user_id, role in roles.items()
    )
    events.chat_created(chat, memberships, user_versions)


def _direct_chat_get_or_create(*, creator: User, member_ids: set[int]) -> tuple[Chat, bool]:
    if len(member_ids) != 1 or creator.pk in member_ids:
        raise exceptions.ValidationError(
            {"member_ids": ["A direct chat needs exactly one other user."]}
        )
    (other,) = active_users(member_ids, field="member_ids")
    require_not_blocked(creator, [other.pk])
    low, high = sorted((creator.pk, other.pk))
    key = f"{low}:{high}"
    existing = Chat.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            chat = Chat.objects.create(
                chat_type=ChatType.DIRECT, direct_key=key, creator=creator, version=1
            )
            # Both plain members: neither has power over the other's messages, roles or the chat.
            _memberships_create(chat, {creator.pk: Role.MEMBER, other.pk: Role.MEMBER})
    except IntegrityError:  # the other user opened the same chat a moment ago
        return Chat.objects.get(direct_key=key), False
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
    chat.version = chat_version_next(chat.pk)
    chat.save(update_fields=["title", "description", "updated"])
    events.chat_updated(chat, selectors.chat_summary(chat=chat))
    return chat


@transaction.atomic
def chat_delete(*, chat: Chat, actor: User) -> None:
    membership = membership_get(chat=chat, user=actor)
    require_role(membership, (Role.OWNER,), "delete it")
    chat_deleted_for_members(chat)


def chat_deleted_for_members(chat: Chat) -> None:
    """Delete the chat: each member's chat list changes, and records that the chat went."""
    chat_version_next(chat.pk)  # the chat's lock first, as every write to the chat takes it
    member_ids = Membership.objects.filter(chat=chat).values_list("user_id", flat=True)
    user_versions = user_versions_next(member_ids)
    Departure.objects.bulk_create(
        Departure(chat_id=chat.pk, user_id=user_id, user_version=user_version)
        for user_id, user_version in user_versions.items()
    )
    events.chat_deleted(chat.pk, user_versions)
    chat.delete()


@transaction.atomic
def chat_settings_set(*, chat: Chat, user: User, notify: str) -> None:
    """The member's notification level for the chat: a change of their own list of chats, so
    it takes their next user_version, and their sockets get the chat as their feed would."""
    membership = membership_get(chat=chat, user=user)
    if membership.notify == notify:
        return
    user_version = user_versions_next([user.pk])[user.pk]
    Membership.objects.filter(pk=membership.pk).update(notify=notify, user_version=user_version)
    mine = selectors.chat_get_for_member(user=user, chat_id=chat.pk)
    events.chat_settings_changed(user.pk, my_chat_payload(mine), user_version)
