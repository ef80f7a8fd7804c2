"""Who a request comes from, and whether their role allows it.

A request proves itself with a bearer token (`Authorization: Bearer sup_…`) or with
the review screen's session cookie. A cookie is sent by the browser on its own, so a
request that changes something on a session must also carry the session's CSRF
token (the `X-CSRF-Token` header, or the `csrf_token` field of a form): a page of
another site can make the browser send the cookie, but cannot read the token.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from supporter.api.services import Services
from supporter.domain.people import Principal, Role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The session cookie's key for the session id: the store says whose it is and whether
# it has ended (`SqlAccounts.session_principal`).
SESSION_ID = "sid"
CSRF_HEADER = "X-CSRF-Token"
# Declared so that the OpenAPI document shows the scheme; a missing or malformed header
# is answered by `require` (401), not by FastAPI's own 403.
_bearer = HTTPBearer(auto_error=False, description="A token from `supporter tokens create`.")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made when the session first needs one."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, given: str | None) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str) and given is not None and secrets.compare_digest(expected, given)
    )


async def principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = None
) -> Principal | None:
    """The token's or the session's owner; None when the request proves neither."""
    if credentials is not None:
        return await services(request).accounts.token_principal(credentials.credentials)
    session_id = request.session.get(SESSION_ID)
    if not isinstance(session_id, str):
        return None
    return await services(request).accounts.session_principal(session_id)


def unauthorized(detail: str = "sign in, or send a bearer token") -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through the given roles (and admin): 401 for no or a bad
    credential, 403 for another role or a session request without its CSRF token."""
    allowed = {*roles, Role.ADMIN}

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        who = await principal(request, credentials)
        if who is None:
            raise unauthorized()
        if who.role not in allowed:
            needed = " or ".join(sorted(role.value for role in allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role {needed}")
        if (
            who.kind == "user"
            and request.method not in SAFE_METHODS
            and not csrf_ok(request, request.headers.get(CSRF_HEADER))
        ):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"a missing or wrong {CSRF_HEADER} header"
            )
        return who

    return check
