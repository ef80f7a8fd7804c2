"""`supporter serve`: the HTTP API and the review screen over the shared store, with
the stages running in this process (in memory) or on the configured broker's workers."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supporter.brokers.base import BrokerError
from supporter.cli import wiring
from supporter.cli.common import LogFormatOption, fail, run_traced, settings_from, setup_logging
from supporter.cli.ui import console
from supporter.config import ConfigError, Settings
from supporter.helpdesks.base import Helpdesk, WriteBackMode
from supporter.observability.metrics import Metrics
from supporter.pipeline.helpdesk_intake import HelpdeskIntake, Poller, PollOptions, WebhookReceiver
from supporter.pipeline.intake import TicketIntake
from supporter.pipeline.orchestrator import Pipeline, RunReport, StageName
from supporter.pipeline.resend import ResendOptions, ResendSweep
from supporter.pipeline.stages import TICKETS
from supporter.pipeline.stats import RunStats
from supporter.pipeline.write_back import WRITE_BACK, WriteBackRoute, resend_unwritten
from supporter.store.base import StoreError
from supporter.store.helpdesks import SqlHelpdeskState
from supporter.store.publishes import SqlTicketPublishes
from supporter.store.sql import SqlStore

# The web stack (FastAPI, uvicorn, Jinja, Argon2) is imported when `serve` runs: every
# other command would pay for it at start-up.
if TYPE_CHECKING:
    from supporter.api.services import HelpdeskLink, Services

log = logging.getLogger(__name__)
STAGES: tuple[StageName, ...] = ("analyze", "respond", "sink")


@dataclass
class Served:
    services: Services
    pipeline: Pipeline
    stages: tuple[StageName, ...]
    session_secret: str
    # The catch-up poll of the connected helpdesk (None: none, or webhooks only).
    poller: Poller | None = None
    # Tickets stuck in `received`, sent again (None: not in this process).
    resend: ResendSweep | None = None

    async def run(self) -> RunReport:
        """The stages (and the helpdesk's poll, the write-backs to send again, and the
        sweep of tickets stuck in `received`) until `pipeline.request_stop()`, once
        the broker is reached (waited for when it cannot be yet)."""
        if not await self.pipeline.reach_broker():
            return await self.pipeline.serve(*self.stages)  # stopped while waiting
        helpers = [asyncio.create_task(self._resend_unwritten())]
        if self.resend is not None:
            helpers.append(asyncio.create_task(self.resend.run()))
        if self.poller is not None:
            helpers.append(asyncio.create_task(self.poller.run()))
        try:
            return await self.pipeline.serve(*self.stages)
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            if self.services.helpdesk is not None:
                await self.services.helpdesk.receiver.close()

    async def _resend_unwritten(self) -> None:
        """Write-backs an in-memory queue lost when Supporter last stopped, sent again."""
        from supporter.store.reviews import SqlReviews

        route = self.pipeline.write_back_route()
        if route is None:
            return
        engine = self.services.store.engine
        try:
            await self.pipeline.broker.declare(WRITE_BACK)
            await resend_unwritten(
                route, SqlHelpdeskState(engine), SqlReviews(engine), self.pipeline.broker
            )
        except (StoreError, BrokerError) as error:
            log.warning("could not send unwritten write-backs again: %s", error)


def in_memory(settings: Settings) -> bool:
    return settings.broker_url.startswith("memory://")


def secure_cookies(settings: Settings) -> bool:
    """HTTPS-only cookies unless said otherwise, or unless serving plain http on
    loopback to this machine's own browser (which then could not sign in)."""
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    return not loopback or settings.forwarded_allow_ips is not None


async def open_served(
    settings: Settings,
    resources: contextlib.AsyncExitStack,
    stats: RunStats,
    *,
    helpdesk: Helpdesk | None = None,
) -> Served:
    """Everything `serve` runs, opened now and closed with `resources`: on the
    in-memory broker this process runs every stage; on a shared one, none.

    With `settings.helpdesk` (or a `helpdesk` connector given, as tests do) its
    webhooks are taken at /webhooks/<name>, it is polled every `poll_interval`
    seconds, and `write_back` says what goes back into it."""
    from supporter.api.services import Services
    from supporter.store.accounts import SqlAccounts

    if helpdesk is not None and settings.helpdesk is None:
        settings = settings.model_copy(update={"helpdesk": helpdesk.name})
    if settings.helpdesk is not None and helpdesk is None:
        helpdesk = wiring.helpdesk_connector(settings, resources)
    stages = STAGES if in_memory(settings) else ()
    if stages and helpdesk is not None and settings.write_back is not None:
        stages = (*stages, "write-back")
    metrics = Metrics(stats, stages)
    pipeline, store = await wiring.pipeline(
        settings,
        resources,
        stats,
        one_process=in_memory(settings),
        write_results=False,
        observer=metrics,
        helpdesk=helpdesk,
        service=True,
    )
    broker = pipeline.broker
    link, poller = _helpdesk_link(settings, pipeline, store, helpdesk, metrics)

    async def broker_answers() -> None:
        await broker.depth(TICKETS)

    services = Services(
        store=store,
        broker=broker,
        intake=TicketIntake(store, broker, settings.open_statuses),
        metrics=metrics,
        categories=[category.name for category in wiring.taxonomy(settings)],
        checks={"broker": broker_answers, "store": store.ping},
        secure_cookies=secure_cookies(settings),
        helpdesk=link,
    )
    secret = settings.session_secret or await SqlAccounts(store.engine).session_secret()
    resend = ResendSweep(
        SqlTicketPublishes(store.engine),
        broker,
        stats,
        ResendOptions(
            interval=settings.resend_interval,
            after=settings.resend_after,
            limit=settings.resend_limit,
        ),
        queues_outlive_process=not in_memory(settings),
    )
    return Served(services, pipeline, stages, secret, poller, resend)


def _helpdesk_link(
    settings: Settings,
    pipeline: Pipeline,
    store: SqlStore,
    helpdesk: Helpdesk | None,
    metrics: Metrics,
) -> tuple[HelpdeskLink | None, Poller | None]:
    if helpdesk is None:
        return None, None
    state = SqlHelpdeskState(store.engine)
    intake = HelpdeskIntake(helpdesk, state, pipeline.broker, settings.open_statuses)
    from supporter.api.services import HelpdeskLink

    wiring.watch_helpdesk(metrics, helpdesk)
    route = None
    if settings.write_back is not None:
        mode = WriteBackMode(settings.write_back)
        route = WriteBackRoute(helpdesk.name, mode, settings.public_replies)
    link = HelpdeskLink(WebhookReceiver(intake, state, pipeline.stats), route)
    poller = None
    if settings.poll_interval > 0:
        options = PollOptions(
            interval=settings.poll_interval,
            first_lookback=timedelta(days=settings.first_poll_days),
        )
        poller = Poller(intake, state, options)
    return link, poller


def serve(
    port: Annotated[int | None, typer.Option(help="Port to listen on. [default: 8080]")] = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on; 0.0.0.0 for every interface. [default: 127.0.0.1]"
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            help="The SQLite database; SUPPORTER_STORE_URL names any other. [default: supporter.db]"
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies (comma-separated addresses) whose X-Forwarded-For and -Proto to believe."
        ),
    ] = None,
    helpdesk: Annotated[
        str | None,
        typer.Option(
            help="Take tickets from this helpdesk (zendesk, freshdesk, helpscout, zammad, "
            "chatwoot, rt): webhooks at /webhooks/NAME and a catch-up poll. Its settings "
            "come from SUPPORTER_<NAME>_… (docs/helpdesks.md)."
        ),
    ] = None,
    write_back: Annotated[
        str | None,
        typer.Option(
            help="What goes back into the helpdesk: tags (the classification), note (and "
            "the draft as an internal note), after-review (only approved drafts). "
            "[default: nothing]"
        ),
    ] = None,
    poll_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between catch-up polls of the helpdesk; 0: webhooks only. [default: 60]"
        ),
    ] = None,
    first_poll_days: Annotated[
        int | None,
        typer.Option(
            help="The first poll of the helpdesk (none stored yet) takes tickets updated in "
            "this many days (1 to 3650): the open backlog. Later polls resume where it "
            "stopped. [default: 30]"
        ),
    ] = None,
    public_replies: Annotated[
        bool | None,
        typer.Option(
            "--public-replies/--no-public-replies",
            help="Post an approved draft (after-review) as the public reply to the customer. [default: no]",
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
    log_format: LogFormatOption = None,
) -> None:
    """Serve the HTTP API (/api/v1) and the review screen (/), and run the stages.

    With the in-memory broker (the default) this process analyses and answers the
    tickets it is sent; with SUPPORTER_BROKER_URL set, workers elsewhere do.
    """
    settings = settings_from(
        {
            "port": port,
            "host": host,
            "db": db,
            "forwarded_allow_ips": forwarded_allow_ips,
            "log_format": log_format,
            "helpdesk": helpdesk,
            "write_back": write_back,
            "poll_interval": poll_interval,
            "first_poll_days": first_poll_days,
            "public_replies": public_replies,
        },
        config,
    )
    setup_logging(verbose, settings.log_format)
    try:
        report = run_traced("supporter-serve", _serve(settings))
    except (StoreError, ConfigError) as error:
        fail(str(error))
    except BrokerError as error:
        fail(f"the broker cannot be reached: {error}", code=1)
    if report.fatal:
        console.print(f"[bold red]stopped:[/] {report.fatal}")
        raise typer.Exit(1)


async def _serve(settings: Settings) -> RunReport:
    import uvicorn

    from supporter.web.app import build_app

    stats = RunStats()
    async with contextlib.AsyncExitStack() as resources:
        served = await open_served(settings, resources, stats)
        pipeline = served.pipeline
        served.services.metrics.watch_breakers(pipeline.breakers)
        server = uvicorn.Server(
            uvicorn.Config(
                build_app(served.services, served.session_secret),
                host=settings.host,
                port=settings.port,
                log_level="info" if logging.getLogger().isEnabledFor(logging.INFO) else "warning",
                access_log=False,  # URLs hold ticket ids only, but access logs are the proxy's job
                proxy_headers=settings.forwarded_allow_ips is not None,
                forwarded_allow_ips=settings.forwarded_allow_ips,
                server_header=False,
            )
        )
        where = "in this process" if served.stages else f"on {settings.broker_prefix} (workers)"
        console.print(
            f"serving http://{settings.host}:{settings.port}/ (API at /api/v1); stages {where}"
        )
        stages = asyncio.create_task(served.run())
        stages.add_done_callback(lambda _: setattr(server, "should_exit", True))
        # uvicorn handles SIGINT/SIGTERM: it stops taking requests and returns, then the
        # stages finish what is in flight. It exits when it cannot listen.
        cannot_listen = False
        try:
            await server.serve()
        except SystemExit:
            cannot_listen = True
        pipeline.request_stop()
        report = await stages
        if cannot_listen:
            raise ConfigError(f"cannot listen on {settings.host}:{settings.port}")
        return report
    raise AssertionError("unreachable")
