"""/metrics makes what would otherwise go unseen countable: drops, failed sends, filled gaps."""

import logging

import pytest
from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull

from chatproject import metrics
from chatproject.overrides.channels import InMemoryChannelLayer


def test_metrics_are_served_in_prometheus_text(anon):
    response = anon.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    for name in metrics.METRICS:
        assert f"# TYPE {name} " in body
        assert f"\n{name} " in body


def test_the_in_memory_layer_counts_what_it_drops():
    layer = InMemoryChannelLayer(capacity=1)
    before = metrics.value("chat_channel_layer_dropped_total")

    async def overfill() -> None:
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "x"})
        await layer.group_send("g", {"type": "x"})  # dropped: the channel holds one
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "x"})

    async_to_sync(overfill)()

    assert metrics.value("chat_channel_layer_dropped_total") == before + 2


def test_redis_layer_drops_are_counted_and_logged_as_warnings(caplog):
    before = metrics.value("chat_channel_layer_dropped_total")
    logger = logging.getLogger("channels_redis.core")

    with caplog.at_level(logging.INFO, logger="channels_redis.core"):
        logger.info("%s of %s channels over capacity in group %s", 3, 10, "chat.1")

    assert metrics.value("chat_channel_layer_dropped_total") == before + 3
    assert caplog.records[-1].levelname == "WARNING"


def test_an_unknown_metric_is_a_programming_error():
    with pytest.raises(KeyError):
        metrics.increment("no_such_metric")
