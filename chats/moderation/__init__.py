"""Moderation: reports, removal and restore of messages, bans, and the audit trail."""
