"""Every write to chats, members, messages, presence and scheduled messages, one module each.

REST views, WebSocket consumers, admin actions and Celery tasks all call these functions, so each
rule (who may do what, seq order, idempotency) lives in one place and each write publishes the
same events. Each function is one transaction; events go out only after it commits
(chats/realtime/events.py). Moderation's writes are in chats/moderation/services.py.
"""
