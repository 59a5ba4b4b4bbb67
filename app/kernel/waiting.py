"""Waiting for an asyncio.Event with a time limit, without losing a cancellation.

`asyncio.wait_for` on Python 3.11 swallows a cancellation that arrives as the awaited event is
set: it returns the result and the task goes on, so a `stop()` that cancels a worker and awaits it
waits forever (seen: the webhook worker woken by a commit at the moment the server shut down).
`asyncio.timeout` cancels and uncancels within the task itself, so an outside cancel always wins.
"""

from __future__ import annotations

import asyncio


async def wait_at_most(event: asyncio.Event, seconds: float | None) -> bool:
    """Until `event` is set or `seconds` passed (None: no limit); True when it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
