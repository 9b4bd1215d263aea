"""A socket's stream of one chat puts its events in version order, each version once
(chats/realtime/streams.py). Pure bookkeeping: no socket, no loop, no database."""

from hypothesis import given
from hypothesis import strategies as st

from chats.realtime.streams import ChatStream


def test_an_event_in_order_goes_out_at_once() -> None:
    stream = ChatStream(last_version=4)

    assert stream.offer(5, ["v5"]) == ["v5"]
    assert (stream.last_version, stream.waiting) == (5, False)


def test_an_event_that_comes_early_waits_for_the_one_before_it() -> None:
    stream = ChatStream(last_version=4)

    assert stream.offer(6, ["v6"]) == []
    assert stream.waiting
    assert stream.offer(5, ["v5"]) == ["v5", "v6"]
    assert not stream.waiting


def test_one_versions_frames_go_out_together_in_their_order() -> None:
    stream = ChatStream(last_version=0)

    assert stream.offer(2, ["removed", "new owner"]) == []
    assert stream.offer(1, ["m1"]) == ["m1", "removed", "new owner"]


def test_a_version_with_nothing_to_send_still_counts() -> None:
    """An event this socket skips (its own user's removal) must not leave a gap behind."""
    stream = ChatStream(last_version=0)
    stream.offer(2, ["v2"])

    assert stream.offer(1, []) == ["v2"]
    assert not stream.waiting


def test_what_was_sent_or_is_held_is_never_sent_twice() -> None:
    stream = ChatStream(last_version=4)
    stream.offer(6, ["v6"])

    assert stream.offer(4, ["v4 again"]) == []
    assert stream.offer(6, ["v6 again"]) == []
    assert stream.offer(5, ["v5"]) == ["v5", "v6"]


def test_changes_read_from_the_database_replace_what_they_cover() -> None:
    """A gap is filled by a `changes` frame up to some version: what came live up to it is
    covered by that frame, and what came live past it follows in order."""
    stream = ChatStream(last_version=0)
    stream.offer(3, ["live 3"])
    stream.offer(5, ["live 5"])

    assert stream.advance(3) == []
    assert stream.last_version == 3
    assert stream.offer(4, ["live 4"]) == ["live 4", "live 5"]


def test_changes_that_reach_past_a_held_version_release_what_follows() -> None:
    stream = ChatStream(last_version=0)
    stream.offer(2, ["live 2"])
    stream.offer(4, ["live 4"])

    assert stream.advance(3) == ["live 4"]
    assert not stream.waiting


def test_changes_older_than_the_stream_change_nothing() -> None:
    stream = ChatStream(last_version=7)

    assert stream.advance(5) == []
    assert stream.last_version == 7


@given(st.permutations(range(1, 31)), st.lists(st.integers(1, 30), max_size=20))
def test_any_arrival_order_with_repeats_comes_out_as_one_run_of_versions(
    order: list[int], repeats: list[int]
) -> None:
    stream = ChatStream(last_version=0)
    sent: list[str] = []

    for version in order + repeats:
        sent += stream.offer(version, [f"v{version}"])

    assert sent == [f"v{version}" for version in range(1, 31)]
    assert not stream.waiting
