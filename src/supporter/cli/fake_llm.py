"""`supporter fake-llm`: serve the OpenAI-compatible simulator for benchmarks and manual runs."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Protocol

import typer

from supporter.cli.ui import console


def parse_error_rates(text: str | None) -> dict[int, float]:
    """`429=0.1,500=0.05` → {429: 0.1, 500: 0.05}; raises typer.BadParameter (exit 2)."""
    rates: dict[int, float] = {}
    for pair in filter(None, (part.strip() for part in (text or "").split(","))):
        status, sep, share = pair.partition("=")
        try:
            code, rate = int(status), float(share)
        except ValueError:
            code, rate = 0, -1.0
        if not sep or not 400 <= code <= 599 or not 0.0 <= rate <= 1.0:
            raise typer.BadParameter(
                f"expected STATUS=SHARE pairs such as '429=0.1,500=0.05' (status 400-599, "
                f"share 0-1), got {pair!r}"
            )
        rates[code] = rate
    if sum(rates.values()) > 1.0:
        raise typer.BadParameter(f"the shares add up to more than 1: {text!r}")
    return rates


def fake_llm(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 = any free port).")
    ] = 8000,
    latency_ms: Annotated[
        float, typer.Option(min=0.0, help="Median latency of a completion in milliseconds.")
    ] = 800.0,
    latency_jitter: Annotated[
        float, typer.Option(min=0.0, help="Lognormal sigma of the latency; 0 = constant.")
    ] = 0.25,
    rpm: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Requests per minute, enforced per second like real providers. [default: unlimited]",
        ),
    ] = None,
    tpm: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Tokens per minute (prompt + max_tokens or completion), enforced per second. [default: unlimited]",
        ),
    ] = None,
    error_rate: Annotated[
        str | None,
        typer.Option(help="Injected errors as STATUS=SHARE pairs: '429=0.1,500=0.05,503=0.01'."),
    ] = None,
    timeout_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests that never answer.")
    ] = 0.0,
    malformed_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share answered with content that is not JSON.")
    ] = 0.0,
    refusal_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share answered with a refusal.")
    ] = 0.0,
    quota_exhausted: Annotated[
        bool, typer.Option(help="Answer every request 429 insufficient_quota.")
    ] = False,
    invalid_api_key: Annotated[
        bool, typer.Option(help="Answer every request 401 invalid_api_key.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Same seed, same outcomes and answers.")] = None,
    batch_window: Annotated[
        float,
        typer.Option(
            min=0.0, help="Seconds that stand for a batch's 24 h completion window (Batch API)."
        ),
    ] = 86400.0,
) -> None:
    """Serve a simulated OpenAI API (chat completions, files and batches) until Ctrl-C, then
    print what it answered."""
    # Imported here: the simulators (aiohttp) would slow every command's start-up.
    from supporter.testing.fake_batches import FakeBatchConfig, FakeBatches
    from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig

    try:
        error_rates = parse_error_rates(error_rate)
    except typer.BadParameter as error:
        error.param_hint = "'--error-rate'"
        raise
    config = FakeLLMConfig(
        latency_ms=latency_ms,
        latency_jitter=latency_jitter,
        rpm=rpm,
        tpm=tpm,
        error_rates=error_rates,
        timeout_rate=timeout_rate,
        malformed_rate=malformed_rate,
        refusal_rate=refusal_rate,
        quota_exhausted=quota_exhausted,
        invalid_api_key=invalid_api_key,
        seed=seed,
        record_requests=False,
    )
    server = FakeLLM(config)
    FakeBatches(server, FakeBatchConfig(completion_window_seconds=batch_window))
    asyncio.run(serve_simulator(server, host, port, "simulated OpenAI API"))
    total = sum(server.outcomes.values())
    counts = ", ".join(f"{name} {count:,}" for name, count in server.outcomes.most_common())
    noun = "request" if total == 1 else "requests"
    console.print(f"answered {total:,} {noun}" + (f": {counts}" if counts else ""))


class Simulator(Protocol):
    async def start(self, host: str, port: int) -> str: ...

    async def stop(self) -> None: ...


# What --help shows for a helpdesk simulator's credential options: their values live in
# the simulator's module, which is imported only when the command runs.
SIMULATOR_CREDENTIAL = "the simulator's test credential, printed at start"


def show_credentials(variables: dict[str, str]) -> None:
    """The simulator's own test credentials, as the variables a connector reads: not
    anyone's secret, shown so they can be used."""
    console.print(
        " ".join(f"{name}={value}" for name, value in variables.items()),
        highlight=False,
        soft_wrap=True,
    )


async def serve_simulator(server: Simulator, host: str, port: int, what: str) -> None:
    """Serve `server` until SIGINT or SIGTERM; its base URL alone on stdout for scripts."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        base_url = await server.start(host, port)
    except OSError as error:
        console.print(f"[bold red]error:[/] cannot listen on {host}:{port}: {error.strerror}")
        raise typer.Exit(1) from error
    # The bare URL on stdout, for scripts; the rest goes to stderr.
    typer.echo(base_url)
    console.print(f"{what} at {base_url} (Ctrl-C to stop)", highlight=False)
    try:
        await stop.wait()
    finally:
        await server.stop()
