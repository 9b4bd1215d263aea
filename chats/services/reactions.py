"""Reactions: one member's emoji on a message, put and taken away idempotently."""

import emoji as emoji_data
from django.db import transaction
from rest_framework import exceptions

from accounts.models import User
from chats.models import EMOJI_MAX, REACTIONS_DISTINCT_MAX, Message, Reaction
from chats.realtime import events
from chats.services.versions import chat_version_next

_FULLY_QUALIFIED = emoji_data.STATUS["fully_qualified"]
_COMPONENT = emoji_data.STATUS["component"]


def emoji_normalize(value: str) -> str:
    """One emoji grapheme in its fully-qualified form, so that "❤" and "❤️" are one reaction.
    Skin tones, ZWJ sequences, flags and keycaps are emoji; a bare skin-tone swatch, text, or
    two emoji are not."""
    data = emoji_data.EMOJI_DATA.get(value) if len(value) <= EMOJI_MAX else None
    if data is None or data["status"] == _COMPONENT:
        raise exceptions.ValidationError({"emoji": ["Must be exactly one emoji."]})
    if data["status"] == _FULLY_QUALIFIED:
        return value
    qualified: str = emoji_data.emojize(data["en"], variant="emoji_type")
    return qualified if qualified in emoji_data.EMOJI_DATA else value


def _reactable(message: Message) -> None:
    if message.deleted:
        raise exceptions.ValidationError({"detail": "A deleted message takes no reactions."})


@transaction.atomic
def reaction_add(*, message: Message, user: User, emoji: str) -> None:
    """Put the user's `emoji` on the message. Already there: nothing changes."""
    emoji = emoji_normalize(emoji)
    version = chat_version_next(message.chat_id)  # the chat's lock: counts below are final
    message.refresh_from_db(fields=["deleted"])
    _reactable(message)
    reactions = Reaction.objects.filter(message=message)
    if reactions.filter(user=user, emoji=emoji).exists():
        transaction.set_rollback(True)  # gives the version back: nothing changed
        return
    emojis = set(reactions.values_list("emoji", flat=True).distinct())
    if emoji not in emojis and len(emojis) >= REACTIONS_DISTINCT_MAX:
        raise exceptions.ValidationError(
            {"emoji": [f"A message takes at most {REACTIONS_DISTINCT_MAX} different emoji."]}
        )
    Reaction.objects.create(message=message, user=user, emoji=emoji)
    _reaction_changed(message, user, emoji, version, added=True)


@transaction.atomic
def reaction_remove(*, message: Message, user: User, emoji: str) -> None:
    """Take the user's `emoji` off the message. Not there: nothing changes."""
    emoji = emoji_normalize(emoji)
    version = chat_version_next(message.chat_id)
    message.refresh_from_db(fields=["deleted"])
    _reactable(message)
    deleted, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
    if not deleted:
        transaction.set_rollback(True)
        return
    _reaction_changed(message, user, emoji, version, added=False)


def _reaction_changed(message: Message, user: User, emoji: str, version: int, added: bool) -> None:
    reacted = added or Reaction.objects.filter(message=message).exists()
    Message.objects.filter(pk=message.pk).update(version=version, reacted=reacted)
    count = Reaction.objects.filter(message=message, emoji=emoji).count()
    events.reaction(
        chat_id=message.chat_id,
        message_id=message.pk,
        emoji=emoji,
        user_id=user.pk,
        added=added,
        count=count,
        version=version,
    )
