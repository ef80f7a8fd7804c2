"""The review screen: sign-in, the queue, a ticket beside the customer's payments with
its draft, and the review. Pages are rendered on the server (Jinja2, every value
escaped); the only script is static/keys.js, for keyboard shortcuts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from supporter.api.auth import SESSION_ID, csrf_ok, csrf_token, principal, services
from supporter.api.schemas import ReviewIn
from supporter.api.services import Services
from supporter.api.tickets import ReviewedAlready, record_review, review_of, ticket_out
from supporter.domain.models import Priority
from supporter.domain.people import Principal, ReviewAction, ReviewRecord, Role
from supporter.store.queue import BadCursor, QueueFilter, ReviewState, TicketState
from supporter.store.reviews import AlreadyReviewed, UnknownTicket
from supporter.web.marks import marked
from supporter.web.signin import SignInLimiter

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
limiter = SignInLimiter()
Using = Annotated[Services, Depends(services)]


class SignInNeeded(Exception):
    """A page asked for without a session: answered with a redirect to /login."""


def page(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    values.update(request=request, csrf=csrf_token(request))
    return templates.TemplateResponse(request, template, values, status_code=status_code)


async def reviewer(request: Request) -> Principal:
    who = await principal(request)
    if who is None:
        raise SignInNeeded
    if who.role not in (Role.REVIEWER, Role.ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this screen is for reviewers")
    return who


Reviewer = Annotated[Principal, Depends(reviewer)]


def _checked_form(request: Request, token: str) -> None:
    if not csrf_ok(request, token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form is stale: reload the page")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return page(request, "login.html")


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    using: Using,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form()],
) -> Response:
    _checked_form(request, csrf_token)
    keys = (f"name:{name.casefold()}", f"address:{request.client.host if request.client else ''}")
    if limiter.blocked(*keys):
        return page(request, "login.html", 429, error="Too many attempts: wait a few minutes.")
    # Counted before the password is checked: attempts sent together all count.
    limiter.failed(*keys)
    who = await using.accounts.sign_in(name, password)
    if who is None:
        return page(request, "login.html", 401, error="Wrong name or password.", name=name)
    # A fresh session: nothing from before signing in carries over (session fixation).
    request.session.clear()
    session_id = await using.accounts.start_session(who.name, using.session_max_age)
    if session_id is None:
        # Disabled since the password was checked.
        return page(request, "login.html", 401, error="Wrong name or password.", name=name)
    limiter.succeeded(*keys)
    request.session[SESSION_ID] = session_id
    return RedirectResponse("/", status.HTTP_303_SEE_OTHER)


@router.post("/logout")
async def logout(request: Request, using: Using, csrf_token: Annotated[str, Form()]) -> Response:
    _checked_form(request, csrf_token)
    # Ended in the store, not only in this browser: a copy of the cookie is refused too.
    session_id = request.session.get(SESSION_ID)
    if isinstance(session_id, str):
        await using.accounts.end_session(session_id)
    request.session.clear()
    return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)


def _flag(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.get("/", response_class=HTMLResponse)
async def queue(
    request: Request,
    who: Reviewer,
    using: Using,
    review: ReviewState | Literal[""] = "pending",
    state: TicketState | Literal[""] = "responded",
    category: str | None = None,
    needs_human: str | None = None,
    grounding_failed: str | None = None,
    language: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    where = QueueFilter(
        status=state or None,
        category=category or None,
        needs_human=_flag(needs_human),
        review=review or None,
        grounding_failed=_flag(grounding_failed),
        language=language or None,
    )
    try:
        found = await using.queue.page(where, cursor=cursor or None, limit=50)
    except BadCursor as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    return page(
        request,
        "queue.html",
        who=who,
        rows=found.rows,
        next_cursor=found.next_cursor,
        where=where,
        categories=using.categories,
        filters=dict(request.query_params),
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket(request: Request, ticket_id: str, who: Reviewer, using: Using) -> HTMLResponse:
    try:
        detail = ticket_out(await using.reviews.detail(ticket_id))
    except UnknownTicket as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    problems = detail.grounding.problems if detail.grounding else []
    pieces = marked(detail.draft.body, problems) if detail.draft else []
    return page(
        request,
        "ticket.html",
        who=who,
        t=detail,
        pieces=pieces,
        categories=using.categories,
        priorities=[p.value for p in Priority],
        error=_error_text(request.query_params.get("error") or "", detail.decision),
    )


def _error_text(code: str, decision: ReviewRecord | None) -> str | None:
    """Only a message of ours: `?error=` names one, it never carries the text. A draft
    decided meanwhile is told from the store: who decided it, and when."""
    if code == "reviewed" and decision is not None:
        return str(AlreadyReviewed(decision))
    return REVIEW_ERRORS.get(code)


# What a review the screen could not take shows on the ticket page. The redirect names
# the code, never the text: a link with any `?error=` shows only one of these.
REVIEW_ERRORS = {
    "conflict": "The draft changed since it was read: read it again and review the new one.",
    "reviewed": "This draft was approved or rejected already.",
    "reason": "reason: required to reject.",
    "category": "category: not one of the known categories.",
    "priority": "priority: not one of the known priorities.",
    "invalid": "The review could not be taken: check the form and try again.",
}


def _error_code(error: HTTPException) -> str:
    if isinstance(error, ReviewedAlready):
        return "reviewed"
    if error.status_code == status.HTTP_409_CONFLICT:
        return "conflict"
    field = str(error.detail).split(":", 1)[0]
    return field if field in ("reason", "category", "priority") else "invalid"


@router.post("/tickets/{ticket_id}/review")
async def review(
    request: Request,
    ticket_id: str,
    who: Reviewer,
    using: Using,
    csrf_token: Annotated[str, Form()],
    action: Annotated[ReviewAction, Form()],
    draft_version: Annotated[str, Form(max_length=32)],
    reply: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    _checked_form(request, csrf_token)
    try:
        detail = await using.reviews.detail(ticket_id)
    except UnknownTicket as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    analysis = detail.result.analysis if detail.result else None
    # A correction is a value other than the model's.
    corrected_category = category if analysis and category != analysis.category else None
    try:
        corrected_priority = (
            Priority(priority) if analysis and priority and priority != analysis.priority else None
        )
    except ValueError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"priority: unknown {priority!r}"
        ) from error
    body = ReviewIn(
        action=action,
        draft_version=draft_version,
        reply=reply.replace("\r\n", "\n") if action is ReviewAction.APPROVE and reply else None,
        category=corrected_category or None,
        priority=corrected_priority,
        reason=reason or None,
    )
    try:
        await record_review(using, ticket_id, review_of(body, who, using.categories))
    except HTTPException as error:
        if error.status_code not in (409, 422):
            raise
        return RedirectResponse(
            request.url_for("ticket", ticket_id=ticket_id).include_query_params(
                error=_error_code(error)
            ),
            status.HTTP_303_SEE_OTHER,
        )
    return RedirectResponse("/", status.HTTP_303_SEE_OTHER)


@router.get("/overview", response_class=HTMLResponse)
async def overview(request: Request, who: Reviewer, using: Using) -> HTMLResponse:
    """What the reviews add up to: waiting, approved, edited, cost per approved draft."""
    return page(request, "overview.html", who=who, o=await using.reviews.overview())
