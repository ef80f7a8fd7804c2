"""A worker's heartbeat: what it holds, written to the shared store every few seconds."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime

from supporter.domain.messages import new_message_id
from supporter.observability.logging import ticket_context
from supporter.pipeline.stats import StageCounters
from supporter.store.base import WorkerBeat, WorkerRegistry

log = logging.getLogger(__name__)

# `supporter status` counts a worker alive while its last beat is this many intervals old.
ALIVE_INTERVALS = 3
_RETIRE_TIMEOUT = 5.0


class Heartbeat:
    def __init__(
        self,
        registry: WorkerRegistry,
        stage: str,
        counters: StageCounters,
        *,
        interval: float = 5.0,
        metrics_port: int | None = None,
    ) -> None:
        self._registry = registry
        self._stage = stage
        self._counters = counters
        self._interval = interval
        self._metrics_port = metrics_port
        self.worker_id = new_message_id()
        self._host = socket.gethostname()
        self._started = datetime.now(UTC)

    def snapshot(self) -> WorkerBeat:
        counters = self._counters
        return WorkerBeat(
            worker_id=self.worker_id,
            stage=self._stage,
            host=self._host,
            pid=os.getpid(),
            started_at=self._started,
            seen_at=datetime.now(UTC),
            in_flight=counters.in_flight,
            oldest_in_flight_seconds=counters.oldest_in_flight(),
            consumed=counters.consumed,
            succeeded=counters.succeeded,
            retried=counters.retried,
            dead_lettered=counters.dead_lettered,
            metrics_port=self._metrics_port,
        )

    async def run(self) -> None:
        """Beat until cancelled, then remove the row (a clean stop holds nothing)."""
        with ticket_context(stage=self._stage):
            await self._beat()

    async def _beat(self) -> None:
        try:
            while True:
                try:
                    await self._registry.beat(self.snapshot())
                except Exception as error:
                    # Status goes stale for a while; the work itself does not depend on it,
                    # so no failure here may stop the worker.
                    log.warning("heartbeat of %s worker not recorded: %s", self._stage, error)
                await asyncio.sleep(self._interval)
        finally:
            try:
                # Bounded: a store that is down must not hold up the worker's exit.
                async with asyncio.timeout(_RETIRE_TIMEOUT):
                    await asyncio.shield(self._registry.retire(self.worker_id))
            except (Exception, asyncio.CancelledError):
                log.info("%s worker %s not retired: its row expires", self._stage, self.worker_id)
