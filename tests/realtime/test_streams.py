"""A socket's stream of one chat puts messages in seq order, each once (chats/realtime/streams.py).
Pure bookkeeping: no socket, no loop, no database."""

from hypothesis import given
from hypothesis import strategies as st

from chats.realtime.streams import ChatStream


def test_a_message_in_order_goes_out_at_once() -> None:
    stream = ChatStream(last_seq=4)

    assert stream.offer(5, "m5") == ["m5"]
    assert (stream.last_seq, stream.waiting) == (5, False)


def test_a_message_that_comes_early_waits_for_the_one_before_it() -> None:
    stream = ChatStream(last_seq=4)

    assert stream.offer(6, "m6") == []
    assert stream.waiting
    assert stream.offer(5, "m5") == ["m5", "m6"]
    assert not stream.waiting


def test_what_was_delivered_or_is_held_is_never_sent_twice() -> None:
    stream = ChatStream(last_seq=4)
    stream.offer(6, "m6")

    assert stream.offer(4, "m4 again") == []
    assert stream.offer(6, "m6 again") == []
    assert stream.offer(5, "m5") == ["m5", "m6"]


def test_a_gap_read_from_the_database_fills_in_around_what_came_live() -> None:
    stream = ChatStream(last_seq=0)
    stream.offer(3, "live 3")

    released = stream.fill([(1, "read 1"), (2, "read 2"), (3, "read 3"), (4, "read 4")])

    assert released == ["read 1", "read 2", "live 3", "read 4"]
    assert stream.last_seq == 4


@given(st.permutations(range(1, 31)), st.lists(st.integers(1, 30), max_size=20))
def test_any_arrival_order_with_repeats_comes_out_as_one_run_of_seqs(
    order: list[int], repeats: list[int]
) -> None:
    stream = ChatStream(last_seq=0)
    sent: list[str] = []

    for seq in order + repeats:
        sent += stream.offer(seq, f"m{seq}")

    assert sent == [f"m{seq}" for seq in range(1, 31)]
    assert not stream.waiting
