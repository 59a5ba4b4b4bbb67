"""A worker's timed wait (app/kernel/waiting.py). The cancel it must not lose (Python 3.11's
wait_for lost it when a commit woke the webhook worker as the server shut down) is covered by
tests/test_imports_files.py's resumed import, whose shutdown hung before."""

from __future__ import annotations

import asyncio

from app.kernel.waiting import wait_at_most


async def test_the_wait_tells_whether_the_event_was_set_or_the_time_ran_out():
    event = asyncio.Event()

    assert await wait_at_most(event, 0.01) is False
    event.set()
    assert await wait_at_most(event, 60) is True
