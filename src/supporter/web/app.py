"""The application `supporter serve` runs: the review screen at /, the API at /api/v1,
the probes and metrics, behind signed session cookies and strict security headers.

Sessions are Starlette's signed cookies (itsdangerous; the session holds a session id
and the CSRF token, nothing else): https://www.starlette.io/middleware/#sessionmiddleware
The id is checked against the store's sessions on every request, so signing out ends
every copy of the cookie (`store/accounts.py`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from supporter.api import health, webhooks
from supporter.api.app import PREFIX, answer_store_failures, api_app
from supporter.api.services import Services
from supporter.web import screen
from supporter.web.guard import Guard

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
    app.include_router(webhooks.router)
    app.include_router(screen.router)
    app.mount(PREFIX, api_app(services))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.exception_handler(screen.SignInNeeded)
    async def sign_in_first(request: Request, error: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    answer_store_failures(app)

    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret,
        session_cookie=SESSION_COOKIE,
        max_age=services.session_max_age,
        same_site="lax",
        https_only=services.secure_cookies,
    )
    app.add_middleware(Guard, headers=SECURITY_HEADERS)
    return app
