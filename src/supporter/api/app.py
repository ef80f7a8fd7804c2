"""The API as an application of its own, mounted at /api/v1 by `supporter serve`: its
OpenAPI document is then /api/v1/openapi.json."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from supporter import __version__
from supporter.api import dead_letters, tickets
from supporter.api.services import Services
from supporter.store.base import StoreError

PREFIX = "/api/v1"


def api_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Supporter API",
        version=__version__,
        summary="Tickets in, drafts reviewed, dead letters replayed.",
        openapi_url="/openapi.json",
        # No Swagger UI: it loads its scripts from a CDN, which the pages' policy forbids.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.include_router(tickets.router)
    app.include_router(dead_letters.router)
    answer_store_failures(app)
    answer_invalid_requests(app)
    return app


def answer_invalid_requests(app: FastAPI) -> None:
    """A request of the wrong shape is a 422 naming each field, as FastAPI's own answer does,
    but without echoing the input: it would quote a ticket's text and any card number in it."""

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        detail = [
            {key: value for key, value in each.items() if key not in ("input", "ctx", "url")}
            for each in error.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)

    app.add_exception_handler(RequestValidationError, invalid)


def answer_store_failures(app: FastAPI) -> None:
    """A store that fails (a database down) is a 503 saying so, not a bare 500."""

    async def store_failed(request: Request, error: Exception) -> Response:
        return PlainTextResponse(f"the store failed: {error}", status_code=503)

    app.add_exception_handler(StoreError, store_failed)
