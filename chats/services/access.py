"""The checks that the writes of chats start with: who is a member, and what their role allows."""

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from rest_framework import exceptions

from accounts.models import Block, User
from chats.models import MANAGER_ROLES, Chat, ChatType, Membership


def membership_get(*, chat: Chat, user: User) -> Membership:
    """The caller's membership. A non-member learns nothing, not even that the chat exists."""
    membership = Membership.objects.filter(chat=chat, user=user).first()
    if membership is None:
        raise exceptions.NotFound("No such chat.")
    return membership


def require_role(membership: Membership, roles: Iterable[str], action: str) -> None:
    if membership.role not in roles:
        raise exceptions.PermissionDenied(f"Your role in this chat does not allow you to {action}.")


def active_users(user_ids: Iterable[int], *, field: str) -> list[User]:
    wanted = set(user_ids)
    users = list(User.objects.filter(pk__in=wanted, is_active=True))
    missing = wanted - {user.pk for user in users}
    if missing:
        raise exceptions.ValidationError({field: [f"No such user: {sorted(missing)}."]})
    return users


def require_not_blocked(actor: User, user_ids: Iterable[int] | QuerySet[Any]) -> None:
    """None of these users has blocked the actor: a blocked user cannot open a direct chat with
    them, add them to a chat, or message them directly (API.md, Users)."""
    if Block.objects.filter(blocked=actor, blocker_id__in=user_ids).exists():
        raise exceptions.PermissionDenied("This person does not accept that from you.")


def removes_messages_anywhere(user: User) -> bool:
    """A moderator: staff with the remove_message permission, who removes messages in chats they
    are not in. Staff first, so that everyone else costs no permission lookup."""
    return user.is_staff and user.has_perm("chats.remove_message")


def may_post(chat: Chat, user: User) -> Membership:
    membership = membership_get(chat=chat, user=user)
    if chat.chat_type == ChatType.CHANNEL:
        require_role(membership, MANAGER_ROLES, "post in this channel")
    if chat.chat_type == ChatType.DIRECT:
        other = Membership.objects.filter(chat=chat).exclude(user=user).values("user_id")
        require_not_blocked(user, other)
    return membership
