"""/healthz, /readyz and /metrics, as the workers serve them: open to the probes and to
Prometheus (they hold counts, never ticket data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, Response

from supporter.api.auth import services
from supporter.api.services import Services
from supporter.observability.metrics import CONTENT_TYPE
from supporter.observability.server import not_ready
from supporter.pipeline.orchestrator import stage_queues

router = APIRouter(tags=["health"])
Using = Annotated[Services, Depends(services)]
PATIENCE = 2.0


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:
    return "ok\n"


@router.get("/readyz", response_class=PlainTextResponse, responses={503: {}})
async def readyz(using: Using) -> PlainTextResponse:
    reason = await not_ready(using.checks, PATIENCE)
    if reason is None:
        return PlainTextResponse("ready\n")
    return PlainTextResponse(f"not ready: {reason}\n", status_code=503)


@router.get("/metrics", response_class=Response)
async def metrics(using: Using) -> Response:
    queues = stage_queues(using.helpdesk is not None and using.helpdesk.route is not None)
    await using.metrics.refresh_queue_depths(using.broker, queues, patience=PATIENCE)
    return Response(using.metrics.render(), media_type=CONTENT_TYPE)
