"""Process-local counters, served at /metrics in Prometheus' text format.

Each server process counts for itself; scrape every process. The names say what would otherwise
go unseen: events the channel layer dropped or failed to send, and gaps that sockets had to fill
from the database because an event never arrived.
"""

import threading
from collections import Counter

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

METRICS = {
    "chat_channel_layer_dropped_total": ("counter", "Events the channel layer dropped: full."),
    "chat_channel_layer_send_failures_total": ("counter", "Events that failed to publish."),
    "chat_ws_gap_fills_total": ("counter", "Missing seqs a socket read from the database."),
    "chat_ws_connections": ("gauge", "WebSockets open on this process."),
}

_values: Counter[str] = Counter()
_lock = threading.Lock()


def increment(name: str, amount: int = 1) -> None:
    if name not in METRICS:
        raise KeyError(name)
    with _lock:
        _values[name] += amount


def value(name: str) -> int:
    with _lock:
        return _values[name]


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    lines = []
    for name, (kind, help_text) in METRICS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value(name)}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
