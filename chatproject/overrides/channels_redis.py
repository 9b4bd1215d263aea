"""channels-redis: the group messages its core layer drops, counted and logged as warnings.

Written against channels-redis 4.3.0. It relies on the core layer logging each drop at INFO as
"%s of %s channels over capacity in group %s" with the count first; tests/overrides checks it.
"""

import logging

from chatproject import metrics


class OverCapacityFilter(logging.Filter):
    """channels-redis's core layer reports group messages it dropped at INFO and moves on.
    Count them and raise the record to WARNING, so a drop shows in logs and metrics."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Configuring logging twice (django.setup() runs again in the ASGI module) attaches a
        # second instance of this filter; a record is counted once all the same.
        if getattr(record, "drop_counted", False):
            return True
        record.drop_counted = True
        if "over capacity" in str(record.msg) and record.args:
            metrics.increment("chat_channel_layer_dropped_total", int(record.args[0]))  # type: ignore[index,call-overload]
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
