"""What else changes when a message is posted, hidden or shown again: the replies that quote it,
the root of its thread, and the members it mentions. Called inside the write's transaction, after
it took the chat's version, which every message changed here carries too."""

from django.db.models import Count, IntegerField, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from chats import selectors
from chats.models import QUOTE_MAX, Attachment, Mention, Message, Reaction
from chats.realtime import events


def mentions_write(message: Message) -> None:
    """The Mention rows of the message's `mention_ids`, which mention counts read."""
    Mention.objects.filter(message=message).delete()
    Mention.objects.bulk_create(
        Mention(message=message, user_id=user_id, chat_id=message.chat_id, seq=message.seq)
        for user_id in message.mention_ids
    )


def thread_root_recount(root_id: int, version: int) -> None:
    """The root's reply_count and last_reply_at, from its replies that are not deleted."""
    replies = Message.objects.filter(thread_root_id=OuterRef("pk"), deleted=False).order_by()
    counted = replies.values("thread_root_id").annotate(n=Count("pk")).values("n")
    latest = replies.values("thread_root_id").annotate(at=Max("created")).values("at")
    Message.objects.filter(pk=root_id).update(
        reply_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0),
        last_reply_at=Subquery(latest),
        version=version,
    )


def message_hidden(message: Message, version: int, *, erase: bool) -> list[Message]:
    """A message deleted by its author (`erase`: its reactions, pin and files go for good) or
    removed by a moderator (they stay, hidden, for a restore). It mentions nobody any more, the
    replies quoting it show an empty quote, and its thread's root counts one reply fewer.
    Returns the other messages changed."""
    Mention.objects.filter(message=message).delete()
    if erase:
        Reaction.objects.filter(message=message).delete()
        Attachment.objects.filter(message=message).delete()  # the files go after the commit
        # Replies a moderator removed show no quote, yet their rows hold a copy of the text.
        Message.objects.filter(reply_to=message, deleted=True).update(reply_to_text="")
    return _dependents_changed(message, version, quote="")


def message_shown(message: Message, version: int) -> list[Message]:
    """A removed message restored: its mentions, its quote of what it answers, the replies'
    quotes of it and its thread's count come back. Returns the other messages changed."""
    mentions_write(message)
    if message.reply_to_id is not None:
        quoted = Message.objects.filter(pk=message.reply_to_id).values("text", "deleted").get()
        message.reply_to_text = "" if quoted["deleted"] else quoted["text"][:QUOTE_MAX]
        Message.objects.filter(pk=message.pk).update(reply_to_text=message.reply_to_text)
    return _dependents_changed(message, version, quote=message.text[:QUOTE_MAX])


def _dependents_changed(message: Message, version: int, *, quote: str) -> list[Message]:
    quoting = Q(reply_to=message, deleted=False)
    Message.objects.filter(quoting).update(reply_to_text=quote, version=version)
    changed = quoting
    if message.thread_root_id is not None:
        thread_root_recount(message.thread_root_id, version)
        changed |= Q(pk=message.thread_root_id)
    return list(
        Message.objects.select_related("user", "reply_to__user").filter(changed).order_by("seq")
    )


def messages_publish(
    chat_id: int, version: int, *, new: Message | None = None, updated: list[Message]
) -> None:
    """The commit's messages as one event, the changed ones with their files and who reacted
    to them."""
    selectors.message_files_set(updated)
    reacted = [message.pk for message in updated if message.reacted]
    reactors = selectors.message_reactors(reacted) if reacted else {}
    events.messages_changed(chat_id, version, new=new, updated=updated, reactors=reactors)
