"""Checks every connector's webhook verification is made of.

Each vendor signs differently (what is signed, which hash, hex or base64, a prefix), so
each connector computes its expected signature from its own documentation; what they
share is here: a secret that must be set, headers that must be there, a comparison in
constant time that never echoes either side, and the replay window for vendors that
sign a timestamp.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from pydantic import SecretStr

from supporter.helpdesks.base import REPLAY_WINDOW_SECONDS, WebhookRejected, WebhookRequest


def webhook_key(secret: SecretStr | None, variable: str) -> bytes:
    """The secret's bytes; without a secret every webhook is refused, naming the variable
    that sets it."""
    if secret is None:
        raise WebhookRejected(
            "not_configured", f"{variable} is not set: webhooks cannot be verified"
        )
    return secret.get_secret_value().encode()


def signature_headers(request: WebhookRequest, *names: str) -> tuple[str, ...]:
    """The values of the headers `names` (as the vendor spells them), all required."""
    values = tuple(request.headers.get(name.lower(), "") for name in names)
    if not all(values):
        raise WebhookRejected("missing_signature", f"no {' or '.join(names)} header")
    return values


def check_signature(given: str, expected: str | bytes, header: str) -> None:
    """`given` equals `expected`, compared in constant time; the refusal shows neither."""
    wanted = expected.encode() if isinstance(expected, str) else expected
    if not hmac.compare_digest(given.strip().encode(), wanted):
        raise WebhookRejected("bad_signature", f"{header} does not match")


def check_age(request: WebhookRequest, signed_at: datetime) -> None:
    """A signature made more than the replay window before (or after) the webhook
    arrived is a replay."""
    age = (request.received_at - signed_at).total_seconds()
    if abs(age) > REPLAY_WINDOW_SECONDS:
        raise WebhookRejected(
            "replay", f"signed {age:.0f} s before it arrived, over {REPLAY_WINDOW_SECONDS:.0f} s"
        )
