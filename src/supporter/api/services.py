"""What the API and the review screen work with, built once by `supporter serve`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from supporter.brokers.base import Broker
from supporter.observability.metrics import Metrics
from supporter.observability.server import ReadinessCheck
from supporter.pipeline.helpdesk_intake import WebhookReceiver
from supporter.pipeline.intake import TicketIntake
from supporter.pipeline.write_back import WriteBackRoute
from supporter.store.accounts import SqlAccounts
from supporter.store.queue import SqlQueue
from supporter.store.reviews import SqlReviews
from supporter.store.sql import SqlStore
from supporter.transactions.sql import SqlTransactionIndex


@dataclass(frozen=True)
class HelpdeskLink:
    """A connected helpdesk (`serve --helpdesk`): who takes its webhooks, and where an
    approved draft goes when it writes back `after-review`."""

    receiver: WebhookReceiver
    route: WriteBackRoute | None = None


@dataclass
class Services:
    store: SqlStore
    broker: Broker
    intake: TicketIntake
    metrics: Metrics
    categories: list[str]
    checks: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    # Session cookies only over HTTPS (off for plain http on loopback, see docs/deployment.md).
    secure_cookies: bool = True
    session_max_age: int = 8 * 3600
    helpdesk: HelpdeskLink | None = None

    @property
    def accounts(self) -> SqlAccounts:
        return SqlAccounts(self.store.engine)

    @property
    def queue(self) -> SqlQueue:
        return SqlQueue(self.store.engine)

    @property
    def reviews(self) -> SqlReviews:
        return SqlReviews(self.store.engine)

    @property
    def transactions(self) -> SqlTransactionIndex:
        return SqlTransactionIndex(self.store.engine)
