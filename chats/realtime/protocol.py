"""The socket protocol's numbers (docs/websocket.md): limits, and the codes a socket closes with."""

FRAME_MAX_BYTES = 64 * 1024
SYNC_LIMIT_MAX = 100  # messages in one sync.batch
SYNC_BATCHES_MAX = 10  # sync.batch or changes frames in answer to one sync

CLOSE_TOO_BIG = 1009
CLOSE_UNAUTHENTICATED = 4401
CLOSE_REVOKED = 4403  # the login session ended: logout, password change, deactivation
# "Try again later". WebSocket's own 1013 is refused by daphne (1000 or 3000-4999 only).
CLOSE_UNAVAILABLE = 4503
CLOSE_TOO_MANY_SOCKETS = 4429  # the user has WS_SOCKETS_PER_USER open already
