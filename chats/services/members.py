"""Adding and removing members, and changing their roles."""

from django.db import transaction
from django.db.models import Case, Value, When
from rest_framework import exceptions

from accounts.models import User
from chats import selectors
from chats.models import MANAGER_ROLES, Chat, ChatType, Departure, Membership, Role
from chats.realtime import events
from chats.services.access import (
    active_users,
    membership_get,
    require_not_blocked,
    require_role,
)
from chats.services.chats import chat_deleted_for_members
from chats.services.versions import chat_version_next, user_versions_next


@transaction.atomic
def member_add(*, chat: Chat, actor: User, user_id: int, role: Role = Role.MEMBER) -> Membership:
    actor_membership = membership_get(chat=chat, user=actor)
    require_role(actor_membership, MANAGER_ROLES, "add members")
    if chat.chat_type == ChatType.DIRECT:
        raise exceptions.ValidationError(
            {"detail": "A direct chat always has exactly two members."}
        )
    if role == Role.OWNER:
        raise exceptions.ValidationError(
            {"role": ["Transfer ownership by changing a role instead."]}
        )
    if role == Role.ADMIN:
        require_role(actor_membership, (Role.OWNER,), "appoint admins")
    (user,) = active_users([user_id], field="user_id")
    require_not_blocked(actor, [user_id])
    chat.version = chat_version_next(chat.pk)  # and so two adds of one user queue here
    if Membership.objects.filter(chat=chat, user=user).exists():
        raise exceptions.ValidationError({"user_id": ["Already a member."]})
    user_version = user_versions_next([user.pk])[user.pk]
    Departure.objects.filter(chat_id=chat.pk, user=user).delete()
    membership = Membership.objects.create(
        chat=chat, user=user, role=role, version=chat.version, user_version=user_version
    )
    events.member_added(
        membership, selectors.chat_get_for_member(user=user, chat_id=chat.pk), user_version
    )
    return membership


@transaction.atomic
def member_role_set(*, chat: Chat, actor: User, user_id: int, role: Role) -> Membership:
    """Change a member's role. Giving someone the owner role hands ownership over to them."""
    actor_membership = membership_get(chat=chat, user=actor)
    require_role(actor_membership, (Role.OWNER,), "change roles")
    target = Membership.objects.select_related("user").filter(chat=chat, user_id=user_id).first()
    if target is None:
        raise exceptions.NotFound("No such member.")
    if target.pk == actor_membership.pk:
        raise exceptions.ValidationError({"role": ["Hand ownership to another member instead."]})
    version = chat_version_next(chat.pk)
    changed = [target]
    if role == Role.OWNER:
        actor_membership.role = Role.ADMIN
        changed.insert(0, actor_membership)
    target.role = role
    for membership in changed:
        membership.version = version
        membership.save(update_fields=["role", "version"])
    events.members_updated(chat.pk, changed, version)
    return target


@transaction.atomic
def member_remove(*, chat: Chat, actor: User, user_id: int) -> None:
    """Remove a member, or leave when user_id is the actor's own.

    An owner who leaves hands the chat to the longest-standing admin, or else member; the last
    member to leave deletes the chat.
    """
    actor_membership = membership_get(chat=chat, user=actor)
    target = Membership.objects.filter(chat=chat, user_id=user_id).first()
    if target is None:
        raise exceptions.NotFound("No such member.")
    # The role first, as member_add does: a plain member may not remove anyone from any chat (403).
    if target.pk != actor_membership.pk:
        require_role(actor_membership, MANAGER_ROLES, "remove members")
        if actor_membership.role == Role.ADMIN and target.role != Role.MEMBER:
            raise exceptions.PermissionDenied("Admins may remove members, not the owner or admins.")
    membership_end(chat=chat, target=target)


def membership_end(*, chat: Chat, target: Membership) -> None:
    """The member is gone from the chat, however they went (left, removed by a manager or by a
    moderator): each sees it in the feeds and live, and their sockets stop following the chat.
    The caller has checked who may do it, in its transaction."""
    if chat.chat_type == ChatType.DIRECT:
        raise exceptions.ValidationError(
            {"detail": "A direct chat always has exactly two members."}
        )
    if not Membership.objects.filter(chat=chat).exclude(pk=target.pk).exists():
        chat_deleted_for_members(chat)  # the last member left
        return
    user_id = target.user_id
    version = chat_version_next(chat.pk)
    user_version = user_versions_next([user_id])[user_id]
    target.delete()
    Departure.objects.update_or_create(
        chat_id=chat.pk,
        user_id=user_id,
        defaults={"version": version, "user_version": user_version},
    )
    heir = _owner_succession(chat, version) if target.role == Role.OWNER else None
    events.member_removed(chat.pk, user_id, version=version, user_version=user_version, heir=heir)


def _owner_succession(chat: Chat, version: int) -> Membership | None:
    """The chat's new owner: the longest-standing admin, or else member."""
    heir = (
        Membership.objects.filter(chat=chat)
        .select_related("user")
        .order_by(Case(When(role=Role.ADMIN, then=Value(0)), default=Value(1)), "joined", "pk")
        .first()
    )
    if heir is None:  # the caller deletes a chat whose last member leaves
        return None
    heir.role = Role.OWNER
    heir.version = version
    heir.save(update_fields=["role", "version"])
    return heir
