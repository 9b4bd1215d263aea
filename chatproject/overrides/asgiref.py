"""asgiref: which event loop a sync thread does its work for.

Written against asgiref 3.13.0. It relies on SyncToAsync's thread handler recording, in
SyncToAsync.threadlocal, the loop that called it (`main_event_loop`) and that loop's process
(`main_event_loop_pid`), as async_to_sync reads them; tests/overrides checks it.
"""

import asyncio
import os

from asgiref.sync import SyncToAsync


def recorded_event_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop this sync_to_async thread works for, as asgiref recorded it (it keeps it
    there after that loop has stopped), or None on any other thread."""
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None)
