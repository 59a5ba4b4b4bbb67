"""The in-process moving window behind the rate limits (app/kernel/moving_window.py): pure, on a
clock the test moves."""

from __future__ import annotations

from app.kernel.moving_window import MovingWindows


class Seconds:
    """A clock the test sets."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_limit_of_hits_in_the_window_and_no_more():
    clock = Seconds()
    windows = MovingWindows(60, clock)

    granted = [windows.hit("till", 3) for _ in range(4)]

    assert granted == [True, True, True, False]
    assert windows.stats("till", 3) == (0, 60.0)
    assert windows.hit("app", 3)  # another key counts on its own
    assert windows.stats("app", 3) == (2, 60.0)


def test_a_hit_counts_for_exactly_the_window_after_it():
    clock = Seconds()
    windows = MovingWindows(60, clock)
    windows.hit("till", 2)
    clock.now += 20
    windows.hit("till", 2)
    clock.now += 39.5

    assert not windows.hit("till", 2)
    assert windows.stats("till", 2) == (0, 0.5)  # the first hit frees a place in half a second
    clock.now += 0.5
    assert windows.stats("till", 2) == (1, 20.0)
    assert windows.hit("till", 2)
    assert not windows.hit("till", 2)


def test_a_hit_of_several_counts_all_or_nothing():
    clock = Seconds()
    windows = MovingWindows(60, clock)

    assert windows.hit("till", 5, cost=3)
    assert not windows.hit("till", 5, cost=3)  # 2 left: none of the 3 counted
    assert windows.stats("till", 5) == (2, 60.0)
    assert windows.hit("till", 5, cost=2)
    assert not windows.hit("till", 5, cost=6)  # more than the limit itself: never
    clock.now += 60
    assert windows.stats("till", 5) == (5, 60.0)


def test_keys_without_a_hit_in_the_window_are_forgotten():
    clock = Seconds()
    windows = MovingWindows(60, clock)
    for key in ("a", "b", "c"):
        windows.hit(key, 10)
    clock.now += 61

    windows.hit("d", 10)  # a hit more than a window after the last sweep sweeps

    assert list(windows._hits) == ["d"]
