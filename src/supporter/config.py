"""Settings from command-line options, `SUPPORTER_*` environment variables and a TOML
file, in that order of precedence, over the defaults below.

The TOML file holds the same keys as the options (with underscores), e.g.::

    db = "supporter.db"
    open_statuses = ["new", "open", "reopened"]
    [ticket_columns]
    ticket_id = "Id"
    body = "Description"
    [[taxonomy]]
    name = "billing_question"
    description = "Questions about invoices, fees and charges"
    keywords = ["invoice", "fee"]
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from supporter.llm.base import Category

DEFAULT_CONFIG_FILE = Path("supporter.toml")


class ConfigError(ValueError):
    """Settings that cannot work together (no API key, a bad price table)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORTER_", extra="forbid")

    # A file, or a database URL (postgresql://…, mysql://…, mariadb://…, sqlite:///…) read
    # with the query or table below; `sql_batch_size` rows are fetched at a time.
    tickets: str | None = None
    transactions: str | None = None
    tickets_query: str | None = None
    tickets_table: str | None = None
    transactions_query: str | None = None
    transactions_table: str | None = None
    sql_batch_size: int = Field(default=1000, ge=1)
    # --transactions stripe:// (the key comes from STRIPE_API_KEY): requests per second
    # (Stripe allows 25 in a sandbox, 100 live, 20 for search), how long a customer's
    # charges are kept, and another server than Stripe's (the simulator).
    stripe_rate: float = Field(default=20.0, gt=0)
    stripe_cache_seconds: float = Field(default=300.0, ge=0)
    stripe_base_url: str | None = None
    out: Path = Path("results.jsonl")
    formats: list[Literal["jsonl", "csv"]] = ["jsonl"]
    rejects: Path = Path("rejects.jsonl")
    db: Path = Path("supporter.db")
    # Where stages meet: memory:// (one process), amqp://… (RabbitMQ), redis://… or
    # kafka://host:port.
    broker_url: str = "memory://"
    broker_prefix: str = "supporter"
    # A worker, `serve` or `ingest` that starts before its broker can be reached (compose,
    # systemd) waits this many seconds for it, as long as services wait for their
    # store; 0 fails at once. Bad credentials or a bad URL fail at once either way.
    broker_wait: float = Field(default=300.0, ge=0)
    # Redis Streams: a dead consumer's messages go to another after this many seconds.
    broker_claim_idle: float = Field(default=30.0, gt=0)
    # Kafka (kafka://host:port): each queue's topics are made with this many partitions
    # (the most consumers of one stage that get work) and replicas (3 on a real cluster).
    kafka_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    # Kafka: a consumer that stops heartbeating (a killed worker) leaves its group,
    # and its partitions go to the others, after this many seconds.
    kafka_session_timeout: float = Field(default=10.0, gt=0)
    # Kafka: when a rebalance takes partitions from a worker, it waits this many
    # seconds for the messages it is working on from them to be settled (at least
    # the usual time a stage holds a message); what is left is read again elsewhere.
    kafka_revoke_wait: float = Field(default=30.0, ge=0)
    # A database URL (postgresql://…, sqlite:///…) takes the place of `db` when given.
    store_url: str | None = None
    # Help-center articles and saved replies (a folder or a file) the replies cite, and
    # the index they are kept in (None: beside `db`, named <db>-knowledge.db, or tables in
    # the database of a PostgreSQL `store_url`).
    knowledge: Path | None = None
    knowledge_index: Path | None = None
    # Passages of the knowledge base a reply is drafted from.
    knowledge_passages: int = Field(default=5, ge=1, le=20)
    # Rank passages by all-MiniLM-L6-v2 embeddings as well as by their words (fused);
    # needs the `embeddings` extra.
    knowledge_embeddings: bool = False
    provider: Literal["offline", "openai", "local", "cascade"] = "offline"
    # OpenAI's named replacement for GPT-4o (which shuts down on 2027-01-14).
    model: str = "gpt-6-luna"
    # A TOML file of models (parameters, prices per tier, shutdown dates) over the
    # packaged table: see docs/models.md.
    models_file: Path | None = None
    # OpenAI's processing tier: flex is cheaper and slower, priority dearer and faster.
    service_tier: Literal["default", "flex", "priority"] = "default"
    # None: the Responses API on OpenAI's own endpoint, Chat Completions on any other
    # base_url (vLLM, Ollama, Azure and other compatible servers speak that one).
    api: Literal["responses", "chat"] | None = None
    # A directory written by `supporter train`, for the local and cascade providers.
    model_path: Path | None = None
    # The cascade's local model answers where its confidence is at least this.
    threshold: float = Field(default=0.9, ge=0.0, le=1.0)
    base_url: str | None = None
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    llm_concurrency: int = Field(default=64, ge=1)
    # None: 30 s, or 900 s at the flex tier, whose answers may queue (OpenAI's advice).
    request_timeout: float | None = Field(default=None, gt=0)
    # None: 120 s, or the flex request timeout plus a minute at the flex tier.
    ticket_deadline: float | None = Field(default=None, gt=0)
    fallback: Literal["offline"] | None = None
    # Model requests through OpenAI's Batch API at half price: for a backlog, not live tickets.
    batch: bool = False
    # 'realtime': a request its batch did not answer is asked in real time at once,
    # instead of in a later batch.
    batch_fallback: Literal["realtime"] | None = None
    # One batch input file holds at most this many requests and bytes (OpenAI's limits).
    batch_max_requests: int = Field(default=50_000, ge=1, le=50_000)
    batch_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1, le=200 * 1024 * 1024)
    # Requests are sent once none has come for this long; batches are polled this often.
    batch_gather_seconds: float = Field(default=2.0, ge=0)
    batch_poll_interval: float = Field(default=30.0, gt=0)
    llm_cache: Path | None = Path("supporter-llm-cache.db")
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    circuit_threshold: int = Field(default=5, ge=1)
    circuit_reset_after: float = Field(default=30.0, gt=0)
    open_statuses: list[str] = Field(default_factory=lambda: ["new", "open"])
    ticket_columns: dict[str, str] = Field(default_factory=dict)
    transaction_columns: dict[str, str] = Field(default_factory=dict)
    # A format name (`supporter inspect` lists them) instead of recognising the file's.
    tickets_format: str | None = None
    transactions_format: str | None = None
    # How to read 03/04/2024 in a file whose format and content do not say.
    date_order: Literal["day-first", "month-first"] | None = None
    # A longer ticket body rejects its row; a longer record (all its fields) too, without
    # being held in memory whole.
    max_body_chars: int = Field(default=20_000, ge=1)
    max_record_chars: int = Field(default=32 * 1024 * 1024, ge=1)
    taxonomy: list[Category] | None = None
    lookback_days: int = Field(default=90, ge=1)
    max_transactions: int = Field(default=20, ge=1, le=200)
    # None: 8 with the offline provider, `llm_concurrency` with a remote one.
    analyze_concurrency: int | None = Field(default=None, ge=1)
    respond_concurrency: int | None = Field(default=None, ge=1)
    queue_size: int = Field(default=256, ge=1)
    max_attempts: int = Field(default=5, ge=1)
    retry_base_delay: float = Field(default=0.5, ge=0)
    retry_max_delay: float = Field(default=30.0, ge=0)
    shutdown_timeout: float = Field(default=30.0, ge=0)
    # A worker writes what it holds to the store this often (`supporter status`).
    heartbeat_interval: float = Field(default=5.0, gt=0)
    # /metrics, /healthz and /readyz; 0 is off. None: off for `run`, 9464 for a worker.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    force: bool = False
    # `supporter serve`: where it listens (loopback unless told otherwise), the key that
    # signs session cookies (None: one made once and kept in the store), whether cookies
    # are for HTTPS only (None: yes, unless it listens on loopback without a proxy), and
    # the proxies whose X-Forwarded-* headers it believes.
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    session_secret: str | None = Field(default=None, min_length=32)
    secure_cookies: bool | None = None
    forwarded_allow_ips: str | None = None
    # `supporter serve --helpdesk NAME`: tickets in from that helpdesk (webhooks at
    # /webhooks/NAME, and a catch-up poll every `poll_interval` seconds; 0: webhooks
    # only), and with `write_back` what goes back: `tags` (the classification), `note`
    # (and the draft as an internal note), `after-review` (only drafts a reviewer
    # approved). `public_replies`: an approved draft is posted as the public reply.
    helpdesk: Literal["zendesk", "freshdesk", "helpscout", "zammad", "chatwoot", "rt"] | None = None
    write_back: Literal["tags", "note", "after-review"] | None = None
    poll_interval: float = Field(default=60.0, ge=0)
    # The first poll (no cursor stored yet) reads tickets updated in these many days, so
    # the open backlog is taken when a team connects; later polls resume from the cursor.
    # At most ten years: a time before 1970 (or past what a date holds) is no start.
    first_poll_days: int = Field(default=30, ge=1, le=3650)
    public_replies: bool = False
    # `supporter serve`: tickets stuck in `received` (stored, then lost before their
    # result) are sent again once their last publish is `resend_after` seconds old (and
    # older than the oldest message waiting in a queue), checked every
    # `resend_interval` seconds, at most `resend_limit` times each (0: never).
    resend_after: float = Field(default=1800.0, ge=0)
    resend_interval: float = Field(default=60.0, gt=0)
    resend_limit: int = Field(default=3, ge=0)
    write_back_concurrency: int = Field(default=4, ge=1)
    # Each helpdesk's settings as `[helpdesks.<name>]` tables (`subdomain = "acme"`,
    # `token_file = "/run/secrets/zendesk"`); SUPPORTER_<NAME>_<FIELD> variables win.
    helpdesks: dict[str, dict[str, str | int | float | bool]] = Field(default_factory=dict)
    # 'console': readable lines; 'json': one JSON object per line on stderr.
    log_format: Literal["console", "json"] = "console"

    @property
    def knowledge_in_store(self) -> bool:
        """The knowledge index is tables in the store's PostgreSQL database, not a file."""
        url = self.store_url or ""
        return self.knowledge_index is None and url.startswith(("postgresql", "postgres://"))

    @property
    def knowledge_index_path(self) -> Path:
        if self.knowledge_index is not None:
            return self.knowledge_index
        return self.db.with_name(f"{self.db.stem}-knowledge.db")

    @field_validator("open_statuses")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        cleaned = [status.strip().lower() for status in value if status.strip()]
        if not cleaned:
            raise ValueError("at least one status must count as open")
        return cleaned

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def load_settings(
    options: dict[str, Any],
    config_file: Path | None = None,
    option_names: Mapping[str, str] | None = None,
) -> Settings:
    """Options given on the command line (None means not given) over the environment over
    `config_file` (or ./supporter.toml when present) over the defaults.

    Raises `ConfigError` naming where each bad value came from: the option, the
    `SUPPORTER_*` variable, or the file and line. `option_names` says what the user typed
    for each setting in `options` (`{"formats": "--format"}`); a setting not in it is
    named `--<setting>`.
    """
    path = config_file
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        path = DEFAULT_CONFIG_FILE
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    given = {key: value for key, value in options.items() if value is not None}
    config = SettingsConfigDict(env_prefix="SUPPORTER_", extra="forbid", toml_file=path)
    bound = type("FileSettings", (Settings,), {"model_config": config})
    try:
        settings: Settings = bound(**given)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text, which TOML must be") from None
    except ValidationError as error:
        places = _Places(given, option_names or {}, path)
        problems = "; ".join(places.problem(item) for item in error.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None
    return settings


class _Places:
    """Where each setting of one load was set: an option, a variable, or the file (read
    once, when a problem is first named there)."""

    def __init__(
        self, given: dict[str, Any], option_names: Mapping[str, str], path: Path | None
    ) -> None:
        self.given = given
        self.option_names = option_names
        self.path = path

    @cached_property
    def lines(self) -> list[str]:
        return [] if self.path is None else self.path.read_text(encoding="utf-8").splitlines()

    def problem(self, item: Any) -> str:
        """One bad setting, named where it was set; never its value (it may be a secret)."""
        loc = [str(part) for part in item["loc"]]
        message = str(item["msg"])
        if not loc:  # settings that do not work together: no one place to name
            return f"settings: {message}"
        key, field = loc[0], ".".join(loc)
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key, Settings.model_fields, n=1)
            message = "not a setting" + (f" (did you mean {close[0]}?)" if close else "")
        variable = f"SUPPORTER_{key.upper()}"
        if key in self.given:
            where = self.option_names.get(key) or f"--{key.replace('_', '-')}"
        elif any(name.upper() == variable for name in os.environ):
            where = variable
        elif self.path is not None:
            line = _line_of(self.lines, loc)
            where = f"{self.path}:{line}" if line else str(self.path)
        else:
            return f"{field}: {message}"
        return f"{where}: {field}: {message}"


def _line_of(lines: list[str], loc: list[str]) -> int | None:
    """The line where a TOML file of `lines` sets `loc` (`key =`, or `[key]` then
    `part =` below it), when plain to see; else the line of its first part, or None."""
    found: int | None = None
    start = 0
    for depth, part in enumerate(loc):
        opener = r"(\[+\s*)?" if depth == 0 else ""
        pattern = re.compile(rf"\s*{opener}{re.escape(part)}\s*[=.\]]")
        number = next((n for n in range(start, len(lines)) if pattern.match(lines[n])), None)
        if number is None:
            break
        found, start = number + 1, number + 1
    return found
