"""The HTTP client every connector talks through: paced, patient with 429s, honest in errors.

Helpdesks publish per-minute limits and enforce them over short intervals, as
model providers do, so requests are spaced evenly under the documented limit
(the pacing of `supporter.llm.ratelimit`, which is not specific to models). A
429 pauses every caller of the account for its `Retry-After`, then the request
is sent again; only when the helpdesk keeps refusing past `max_wait` seconds
does the caller get `HelpdeskUnavailable`, which opens the write-back stage's
circuit instead of burning the ticket's tries.

Answers map onto the pipeline's errors (see `supporter.helpdesks.base`):
5xx, timeouts and refused connections are `HelpdeskUnavailable`; 401 and 403
are `FatalError` (a person must fix the credentials or the rights); any other
4xx is a `PermanentError` for this request. Errors name the method, the path
and the status, never a header, a query string or a credential.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import httpx2 as httpx

from supporter.domain.errors import FatalError, PermanentError
from supporter.helpdesks.base import HelpdeskUnavailable, RateLimit
from supporter.llm.ratelimit import RateLimiter, parse_duration

log = logging.getLogger(__name__)

# Waited after a 429 that names no delay: a tenth of a minute-window is what
# helpdesks that omit the header (rarely) tend to need.
_DEFAULT_RETRY_AFTER: Final = 6.0
# The vendor's error text in our messages is cut here: enough to say what was
# wrong, too short to carry a ticket's text along.
_ERROR_TEXT_LIMIT: Final = 200


class EndpointLimit:
    """An endpoint's limit of its own under the account's (Freshdesk's ticket updates).

    Checked when the account's turn comes, with nothing awaited between the check and
    the send, so two requests never reach the endpoint closer than its spacing however
    the account's queue bunched them; a request that comes too early gives its account
    turn back (`RateLimiter.give_back`) to the requests that can go, and waits.
    """

    def __init__(self, per_minute: int) -> None:
        self._spacing = 60.0 / per_minute
        self._next = -math.inf

    def wait(self) -> float:
        """0, the endpoint's turn taken for a request sent now; or the seconds until one."""
        now = time.monotonic()
        if now < self._next:
            return self._next - now
        self._next = now + self._spacing
        return 0.0


class HelpdeskHTTP:
    """One helpdesk account's HTTP client, shared by every request to it.

    `retry_after_headers` lists where the helpdesk says how long to wait, first
    match wins (`Retry-After` in seconds or as an HTTP date; some vendors add
    their own, e.g. Help Scout's `X-RateLimit-Retry-After`). `remaining_header`
    names a header counting the requests left in the window: at zero, every
    caller waits for `reset_header` (seconds) or one request's spacing.
    `retry_after_default` says how long a 429 without such a header means (a helpdesk
    that throttles in fixed windows says nothing: the rest of the window).
    """

    def __init__(
        self,
        helpdesk: str,
        base_url: str,
        *,
        limit: RateLimit,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        concurrency: int = 4,
        max_wait: float = 120.0,
        retry_after_headers: tuple[str, ...] = ("retry-after",),
        remaining_header: str | None = None,
        reset_header: str | None = None,
        retry_after_default: Callable[[], float] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.helpdesk = helpdesk
        self.limit = limit
        self.max_wait = max_wait
        self.stats: Counter[str] = Counter()
        """Requests by outcome: ok, rate_limited, unavailable, refused, rejected."""
        self._retry_after_headers = tuple(name.lower() for name in retry_after_headers)
        self._remaining_header = remaining_header.lower() if remaining_header else None
        self._reset_header = reset_header.lower() if reset_header else None
        self._retry_after_default = retry_after_default
        per_minute = max(1, math.floor(limit.requests * 60.0 / limit.per_seconds))
        # The limit's units are budgeted as the limiter's tokens too: a request that the
        # helpdesk counts as more than one (Help Scout's writes, Freshdesk's includes)
        # says so with `cost`.
        self._limiter = RateLimiter(rpm=per_minute, tpm=per_minute, concurrency=concurrency)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        allow: Collection[int] = (),
        cost: int = 1,
        endpoint: EndpointLimit | None = None,
    ) -> httpx.Response:
        """Send one request under the pacing; the answer if it is a 2xx or 3xx, or has a
        status in `allow` (one the caller handles, such as a 409 conflict).

        `cost` is what the request counts against the limit, for helpdesks that count
        some requests as more than one. `endpoint` is a limit of the endpoint's own under
        the account's (see `EndpointLimit`)."""
        waited = 0.0
        while True:
            early = 0.0
            async with self._limiter.slot(cost):
                early = endpoint.wait() if endpoint is not None else 0.0
                if early:
                    self._limiter.give_back(cost)
                else:
                    response = await self._send(method, path, params, json, data, headers, auth)
            if early:
                await asyncio.sleep(early)
                continue
            self._heed_remaining(response.headers)
            if response.status_code != 429:
                break
            self.stats["rate_limited"] += 1
            delay = self._retry_after(response.headers)
            if waited + delay > self.max_wait:
                self.stats["unavailable"] += 1
                raise HelpdeskUnavailable(
                    f"{self.helpdesk} is still rate-limiting {method} {_path(path)} "
                    f"after {waited:.0f} s of waiting",
                    retry_after=delay,
                )
            log.info("%s answered 429; every request waits %.1f s", self.helpdesk, delay)
            # Every caller of the account waits, not only this one: the limit is shared.
            self._limiter.pause_for(delay)
            waited += delay
        if response.status_code not in allow:
            self._raise_for_status(method, path, response)
        self.stats["ok"] += 1
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request`, then the body as JSON (a `HelpdeskUnavailable` if it is not JSON)."""
        response = await self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            self.stats["unavailable"] += 1
            raise HelpdeskUnavailable(
                f"{self.helpdesk} answered {method} {_path(path)} with a body that is not JSON"
            ) from error

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        auth: httpx.Auth | None,
    ) -> httpx.Response:
        extra: dict[str, Any] = {} if auth is None else {"auth": auth}
        try:
            return await self._client.request(
                method, path, params=params, json=json, data=data, headers=headers, **extra
            )
        except httpx.TimeoutException as error:
            self.stats["unavailable"] += 1
            raise HelpdeskUnavailable(
                f"{self.helpdesk} did not answer {method} {_path(path)} in time"
            ) from error
        except httpx.TransportError as error:
            self.stats["unavailable"] += 1
            raise HelpdeskUnavailable(
                f"cannot reach {self.helpdesk} for {method} {_path(path)}: {type(error).__name__}"
            ) from error

    def _raise_for_status(self, method: str, path: str, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        what = f"{self.helpdesk} answered {status} to {method} {_path(path)}"
        if status >= 500:
            self.stats["unavailable"] += 1
            raise HelpdeskUnavailable(what, retry_after=self._retry_after_or_none(response.headers))
        detail = _error_text(response)
        if status in (401, 403):
            self.stats["refused"] += 1
            reason = "the credentials" if status == 401 else "the account's permissions"
            raise FatalError(
                f"{what}: check {reason} in SUPPORTER_{self.helpdesk.upper()}_…"
                + (f" ({detail})" if detail else "")
            )
        self.stats["rejected"] += 1
        raise PermanentError(what + (f": {detail}" if detail else ""))

    def _retry_after(self, headers: httpx.Headers) -> float:
        seconds = self._retry_after_or_none(headers)
        if seconds is not None:
            return seconds
        if self._retry_after_default is not None:
            return self._retry_after_default()
        return _DEFAULT_RETRY_AFTER

    def _retry_after_or_none(self, headers: httpx.Headers) -> float | None:
        for name in self._retry_after_headers:
            seconds = retry_after_seconds(headers.get(name))
            if seconds is not None:
                return seconds
        return None

    def _heed_remaining(self, headers: httpx.Headers) -> None:
        if self._remaining_header is None:
            return
        text = headers.get(self._remaining_header)
        try:
            remaining = int(float(text)) if text is not None else None
        except ValueError:
            remaining = None
        if remaining is None or remaining > 0:
            return
        reset = parse_duration(headers.get(self._reset_header)) if self._reset_header else None
        self._limiter.pause_for(
            reset if reset is not None else self.limit.per_seconds / self.limit.requests
        )


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds in a `Retry-After` value: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def _path(path: str) -> str:
    # A query string may carry a token on some APIs: errors name the path alone.
    return httpx.URL(path).path or path


def _error_text(response: httpx.Response) -> str:
    """The vendor's short reason (`error`, `description`, `message`), cut short."""
    try:
        body = response.json()
    except ValueError:
        return ""
    texts: list[str] = []
    if isinstance(body, Mapping):
        for key in ("error", "description", "message", "errors", "title", "detail"):
            value = body.get(key)
            if isinstance(value, str):
                texts.append(value)
            elif value is not None and key == "errors":
                texts.append(str(value))
    text = "; ".join(texts)
    return text if len(text) <= _ERROR_TEXT_LIMIT else text[: _ERROR_TEXT_LIMIT - 1] + "…"
