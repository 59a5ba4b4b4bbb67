"""The server's import runner: jobs run in the background, one at a time, as asyncio tasks.

A mutation or HTTP POST submits a job and returns at once; the runner works through the queue.
On start it picks up jobs left QUEUED or RUNNING (a crash or a restart mid-import): each resumes
from its last committed batch. On shutdown a running job is cancelled between statements; its
open batch rolls back and it stays RUNNING, to be resumed on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.http.metrics import Metrics
from app.imports import service
from app.kernel.clock import Clock
from app.storage.database import Database

logger = logging.getLogger(__name__)


class ImportRunner:
    def __init__(self, database: Database, clock: Clock, *, metrics: Metrics | None = None) -> None:
        self.database = database
        self.metrics = metrics
        self.clock = clock
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._done: dict[int, asyncio.Event] = {}

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="pointledger-imports")

    async def resume_unfinished(self) -> list[int]:
        job_ids = await service.unfinished_jobs(self.database)
        for job_id in job_ids:
            self.submit(job_id)
        return job_ids

    def submit(self, job_id: int) -> None:
        self.start()  # also when the app runs without its lifespan (in-process tests)
        self._done.setdefault(job_id, asyncio.Event())
        self._queue.put_nowait(job_id)

    async def wait(self, job_id: int) -> None:
        """Until this job has been run (tests, and anyone who wants to block)."""
        await self._done.setdefault(job_id, asyncio.Event()).wait()

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            try:
                job = await service.run_job(self.database, job_id, clock=self.clock)
                if self.metrics is not None:
                    self.metrics.count_import_rows(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("import job %s stopped", job_id)
            finally:
                self._done.setdefault(job_id, asyncio.Event()).set()
