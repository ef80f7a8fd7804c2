"""`POST /webhooks/<helpdesk>`: the connected helpdesk's webhooks (`serve --helpdesk`).

Open to the helpdesk, which signs each request (or sends a secret header the user
set): a request that does not verify is answered 401 and counted, never parsed; one
that verifies but whose body is no webhook the connector can read is answered 400
with the reason (counted as `bad_payload`). A verified one is answered once its
tickets are published (200), or 202 when that takes more than a few seconds (helpdesks
do not wait long) and it goes on; a delivery taken before is answered 200 and not
taken again; when the helpdesk or the broker cannot be reached the answer is 503, and
the helpdesk's own retry brings it again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse

from supporter.api.auth import services
from supporter.api.services import Services
from supporter.brokers.base import BrokerError
from supporter.domain.errors import FatalError, PermanentError, TransientError
from supporter.helpdesks.base import WebhookRejected, WebhookRequest
from supporter.store.base import StoreError

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])
Using = Annotated[Services, Depends(services)]

# Helpdesks send one event per request: a body this large is not one of theirs.
MAX_BODY_BYTES = 1024 * 1024


@router.post(
    "/webhooks/{helpdesk}",
    responses={202: {}, 400: {}, 401: {}, 404: {}, 413: {}, 503: {}},
)
async def webhook(helpdesk: str, request: Request, using: Using) -> JSONResponse:
    link = using.helpdesk
    if link is None or link.receiver.helpdesk != helpdesk:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no helpdesk {helpdesk!r} is connected")
    body = await _body(request)
    received = WebhookRequest(
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        received_at=datetime.now(UTC),
    )
    try:
        outcome = await link.receiver.receive(received)
    except WebhookRejected as error:
        # Signed by the helpdesk but not a webhook we can read: 400 with the reason, so the
        # helpdesk's log shows what is wrong with the payload, not with the signature.
        if error.reason == "bad_payload":
            return JSONResponse(
                {"detail": f"webhook refused: bad_payload: {error}"},
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        return JSONResponse({"detail": f"webhook refused: {error.reason}"}, status_code=401)
    except PermanentError as error:
        # The helpdesk says the ticket is gone: sending the delivery again changes nothing.
        log.info("webhook for %s names what cannot be taken: %s", helpdesk, error)
        return JSONResponse({"outcome": "ignored"})
    except (TransientError, FatalError, StoreError, BrokerError) as error:
        log.warning("webhook for %s not taken (%s): it comes again", helpdesk, type(error).__name__)
        return JSONResponse({"detail": "not taken now: send it again later"}, status_code=503)
    if outcome == "taking":
        return JSONResponse({"outcome": "accepted"}, status_code=status.HTTP_202_ACCEPTED)
    return JSONResponse({"outcome": outcome})


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "webhook body too large")
    body = bytearray()  # grown in place: a body in many small chunks is read in linear time
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "webhook body too large")
    return bytes(body)
