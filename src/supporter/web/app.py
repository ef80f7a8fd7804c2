"""The application `supporter serve` runs: the review screen at /, the API at /api/v1,
the probes and metrics, behind signed session cookies and strict security headers.

Sessions are Starlette's signed cookies (itsdangerous; the session holds the user's
name and the CSRF token, nothing else): https://www.starlette.io/middleware/#sessionmiddleware
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from supporter.api import health
from supporter.api.app import PREFIX, answer_store_failures, api_app
from supporter.api.services import Services
from supporter.web import screen

SESSION_COOKIE = "supporter_session"
# Pages load nothing from elsewhere and run no inline script: an injected <script>
# would not run even if escaping failed somewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def build_app(services: Services, session_secret: str) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    app.include_router(health.router)
    app.include_router(screen.router)
    app.mount(PREFIX, api_app(services))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.exception_handler(screen.SignInNeeded)
    async def sign_in_first(request: Request, error: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    answer_store_failures(app)

    @app.middleware("http")
    async def no_nul(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # No id or filter holds a NUL, and PostgreSQL refuses one in any text it is sent.
        if (
            "%00" in request.scope.get("raw_path", b"").decode("latin-1") + str(request.url.query)
            or "\x00" in request.url.path
        ):
            return PlainTextResponse("NUL characters are not allowed in URLs", status_code=400)
        return await call_next(request)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret,
        session_cookie=SESSION_COOKIE,
        max_age=services.session_max_age,
        same_site="lax",
        https_only=services.secure_cookies,
    )
    return app
