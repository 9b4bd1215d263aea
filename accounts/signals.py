"""What accounts announces, without knowing who listens: chats closes sockets and tells members
about presence (chats/receivers.py). Each is sent inside the change's transaction; a receiver
that publishes does so when it commits."""

from django.dispatch import Signal

# user_id: every login session of the user is over (password change, deactivation).
sessions_revoked = Signal()
# session_id: one login session is over (logout).
session_ended = Signal()
# user: the user chose another status.
status_changed = Signal()
