"""A stage's acknowledgements, sent together.

Each input is acknowledged only once what it produced is confirmed downstream.
One exchange with the broker is in flight at a time: an acknowledgement asked for
while none is goes at once; those asked for meanwhile wait and go together in the
next `Broker.ack_many`. A batch is thus as large as what arrived during one round
trip: a busy stage pays one round trip for many messages, and an idle one waits
for no timer.
"""

from __future__ import annotations

import asyncio
import logging

from supporter.brokers.base import Broker, Delivery
from supporter.observability.logging import error_text

log = logging.getLogger(__name__)


class AckBatcher:
    def __init__(self, broker: Broker, stage: str) -> None:
        self._broker = broker
        self._stage = stage
        self._pending: list[tuple[Delivery, asyncio.Future[bool]]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._sender: asyncio.Task[None] | None = None

    async def ack(self, delivery: Delivery) -> bool:
        """Acknowledge `delivery`; True once the exchange that carried it acknowledged
        all it was given. What was not acknowledged comes back, as unsettled
        deliveries do. A caller cancelled while it waits its turn does not withdraw it;
        one cancelled while its own exchange is under way (the first of a burst, sent
        by the caller itself to spare a task per message) may cut it short, and the
        message then comes back: at least once, as every unsettled delivery."""
        if not self._idle.is_set():
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._pending.append((delivery, future))
            return await asyncio.shield(future)
        self._idle.clear()
        try:
            return await self._exchange([delivery]) == 0
        finally:
            self._next()

    async def drain(self) -> None:
        """Return once every acknowledgement asked for so far has been sent: before
        the consumer closes (which hands back what is unsettled) and before a requeue."""
        await self._idle.wait()

    def _next(self) -> None:
        if self._pending:
            self._sender = asyncio.create_task(self._send_pending())
        else:
            self._idle.set()

    async def _send_pending(self) -> None:
        batch, self._pending = self._pending, []
        try:
            failed = await self._exchange([delivery for delivery, _ in batch])
        except BaseException:
            failed = len(batch)
            raise
        finally:
            for _, future in batch:
                if not future.done():
                    future.set_result(failed == 0)
            self._next()

    async def _exchange(self, deliveries: list[Delivery]) -> int:
        """How many of `deliveries` could not be acknowledged."""
        try:
            failed = await self._broker.ack_many(deliveries)
        except Exception as error:
            # `ack_many` reports failures by count; a raise is a bug (ours or the
            # broker client's). Left unsettled, the messages come back.
            log.error(
                "stage %s could not acknowledge %d messages: %s",
                self._stage,
                len(deliveries),
                error_text(error),
            )
            return len(deliveries)
        if failed:
            log.warning(
                "stage %s could not acknowledge %d of %d messages: they come back once",
                self._stage,
                failed,
                len(deliveries),
            )
        return failed
