"""/api/v1/tickets and /api/v1/transactions: what comes in, the queue, a ticket with
everything about it, and its review."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from supporter.api.auth import require, services
from supporter.api.schemas import (
    CitedTransaction,
    Draft,
    Problem,
    ReviewConflict,
    ReviewIn,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketsTaken,
    TransactionIn,
    TransactionsTaken,
)
from supporter.api.services import Services
from supporter.brokers.base import BrokerError
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Priority, Ticket, Transaction
from supporter.domain.people import Principal, ReviewAction, ReviewRecord, Role
from supporter.pipeline.ingest import publish_ticket
from supporter.pipeline.write_back import WRITE_BACK, approved_write_back
from supporter.sources.csv import BadValue, ticket_from_fields, transaction_from_fields
from supporter.sources.values import readable, unicode_problem
from supporter.store.queue import BadCursor, QueueFilter, ReviewState, TicketState
from supporter.store.reviews import (
    AlreadyReviewed,
    Review,
    StaleDraft,
    TicketDetail,
    UnknownTicket,
)

router = APIRouter(tags=["tickets"])
Ingest = Annotated[Principal, Depends(require(Role.INGEST))]
Reviewer = Annotated[Principal, Depends(require(Role.REVIEWER))]
Using = Annotated[Services, Depends(services)]
R = TypeVar("R")
_REJECTED: dict[int | str, dict[str, Any]] = {
    422: {"description": "Some records were bad: the others were taken."}
}


def _checked(
    items: Sequence[TicketIn] | Sequence[TransactionIn],
    parse: Callable[[Mapping[str, Any]], R],
    id_field: str,
) -> tuple[list[R], list[Problem]]:
    """Each record through the CSV reader's checks; the bad ones as problems."""
    good: list[R] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        values = item.fields()
        try:
            good.append(parse(values))
        except BadValue as error:
            # The id as it can be written back (a lone surrogate in it would fail the answer).
            shown = values.get(id_field)
            problems.append(
                Problem(
                    index=index,
                    id=None if shown is None else readable(shown),
                    field=error.field,
                    error=str(error),
                )
            )
    return good, problems


def _answer(body: BaseModel, problems: list[Problem], ok: int) -> JSONResponse:
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if problems else ok
    return JSONResponse(body.model_dump(mode="json"), status_code=code)


@router.post(
    "/tickets",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TicketsTaken,
    responses={**_REJECTED, 503: {"description": "The pipeline cannot take tickets now."}},
)
async def post_tickets(body: TicketIn | list[TicketIn], _who: Ingest, using: Using) -> JSONResponse:
    """Take one ticket or a list. Idempotent by `ticket_id`: a ticket stored already is
    reported under `duplicates` and changes nothing."""
    items = body if isinstance(body, list) else [body]
    tickets, problems = _checked(items, ticket_from_fields, "ticket_id")
    # A ticket twice in one request is taken once, like a ticket posted twice.
    unique: dict[str, Ticket] = {}
    repeated: list[str] = []
    for ticket in tickets:
        if ticket.ticket_id in unique:
            repeated.append(ticket.ticket_id)
        else:
            unique[ticket.ticket_id] = ticket
    try:
        intake = await using.intake.take(list(unique.values()))
    except BrokerError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the pipeline cannot take tickets: {error}"
        ) from error
    taken = TicketsTaken(
        accepted=intake.accepted,
        duplicates=intake.duplicates + repeated,
        not_open=intake.not_open,
        rejected=problems,
        links={ticket_id: ticket_link(ticket_id) for ticket_id in intake.accepted},
    )
    return _answer(taken, problems, status.HTTP_202_ACCEPTED)


def ticket_link(ticket_id: str) -> str:
    """The ticket's API path, its id percent-encoded (`?`, `#`, `%` and spaces are allowed
    in ids; `/` is not, see `ticket_id_problem`)."""
    return f"/api/v1/tickets/{quote(ticket_id, safe='')}"


@router.post("/transactions", response_model=TransactionsTaken, responses=_REJECTED)
async def post_transactions(body: list[TransactionIn], _who: Ingest, using: Using) -> JSONResponse:
    """Add or replace (by `transaction_id`) customers' transactions: the analyze stage
    finds each ticket's recent ones here."""
    transactions, problems = _checked(body, transaction_from_fields, "transaction_id")

    async def each() -> AsyncIterator[Transaction]:
        for transaction in transactions:
            yield transaction

    upserted = await using.transactions.load(each())
    return _answer(TransactionsTaken(upserted=upserted, rejected=problems), problems, 200)


@router.get("/tickets", response_model=TicketPage)
async def list_tickets(
    _who: Reviewer,
    using: Using,
    status_: Annotated[TicketState | None, Query(alias="status")] = None,
    category: str | None = None,
    priority: Priority | None = None,
    needs_human: bool | None = None,
    review: ReviewState | None = None,
    grounding_failed: bool | None = None,
    language: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TicketPage:
    """The queue: most urgent first, then oldest first; `next_cursor` for the next page."""
    where = QueueFilter(
        status=status_,
        category=category,
        priority=priority.value if priority else None,
        needs_human=needs_human,
        review=review,
        grounding_failed=grounding_failed,
        language=language,
    )
    try:
        page = await using.queue.page(where, cursor=cursor, limit=limit)
    except BadCursor as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    return TicketPage(
        tickets=page.rows,
        next_cursor=page.next_cursor,
    )


def ticket_out(detail: TicketDetail) -> TicketOut:
    result = detail.result
    cited = detail.cited_ids
    draft = None
    if result is not None and result.reply is not None and detail.draft_version is not None:
        draft = Draft(
            body=result.reply.body,
            cited_transaction_ids=result.reply.cited_transaction_ids,
            version=detail.draft_version,
        )
    return TicketOut(
        ticket=detail.ticket,
        status=result.status if result else "received",
        analysis=result.analysis if result else None,
        draft=draft,
        grounding=result.grounding if result else None,
        provider=result.provider if result else None,
        usage=result.usage if result else None,
        error=result.error if result else None,
        transactions=[
            CitedTransaction(transaction=t, cited=t.transaction_id in cited)
            for t in detail.transactions
        ],
        tries=detail.tries,
        reviews=detail.reviews,
        decision=detail.decision,
    )


@router.get("/tickets/{ticket_id}", response_model=TicketOut, responses={404: {}})
async def get_ticket(ticket_id: str, _who: Reviewer, using: Using) -> TicketOut:
    """The ticket, its analysis, the draft and its version, the customer's transactions
    (those cited marked), the grounding check, the failed tries and every review."""
    try:
        return ticket_out(await using.reviews.detail(ticket_id))
    except UnknownTicket as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


def review_of(body: ReviewIn, who: Principal, categories: Sequence[str]) -> Review:
    """The review as stored; HTTPException 422 for one that cannot be taken."""
    # JSON may escape a lone surrogate into any string; no store can hold one.
    for name, value in (("reply", body.reply), ("reason", body.reason)):
        if value is not None and unicode_problem(value):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"{name}: not valid Unicode text: it holds a lone surrogate (such as \\ud800)",
            )
    if body.action is ReviewAction.REJECT and not (body.reason or "").strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "reason: required to reject")
    if body.category is not None and body.category not in categories:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"category: unknown {body.category!r} (one of {', '.join(categories)})",
        )
    return Review(
        action=body.action,
        draft_version=body.draft_version,
        reviewer=who.name,
        reply=_text(body.reply),
        category=body.category,
        priority=body.priority,
        reason=_text((body.reason or "").strip()) or None,
    )


def _text(value: str | None) -> str | None:
    # No text database stores a NUL (PostgreSQL refuses the row), as the CSV reader knows.
    # Card numbers masked here already (the store masks too), so a repeated approval
    # compares with the approval as it was stored.
    return None if value is None else mask_card_numbers(value.replace("\x00", "\ufffd"))


class ReviewedAlready(HTTPException):
    """409: the draft was approved or rejected already; `review` is that decision."""

    def __init__(self, review: ReviewRecord, message: str) -> None:
        super().__init__(status.HTTP_409_CONFLICT, message)
        self.review = review


async def record_review(using: Services, ticket_id: str, review: Review) -> ReviewRecord:
    """HTTPException 404 for an unknown ticket, 409 for a stale or missing draft,
    ReviewedAlready (a 409) for a draft decided already, 503 when an approval that goes
    back to the helpdesk (`after-review`) cannot be queued (the review is recorded:
    sending the same approval again queues it)."""
    try:
        record = await using.reviews.review(ticket_id, review)
    except UnknownTicket as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except StaleDraft as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except AlreadyReviewed as error:
        if _same_decision(review, error.review):
            # The same approval sent again (a retry after a 503, a double submit): its
            # write-back is queued again. The write-back stage writes a version once, so
            # nothing more reaches the helpdesk if it was written.
            await _write_back(using, ticket_id, error.review)
        raise ReviewedAlready(error.review, str(error)) from error
    await _write_back(using, ticket_id, record)
    return record


def _same_decision(review: Review, decision: ReviewRecord) -> bool:
    """Whether `review` repeats the approval `decision` (text and corrections)."""
    return (
        review.action is ReviewAction.APPROVE
        and decision.action is ReviewAction.APPROVE
        and review.reviewer == decision.reviewer
        and (decision.draft if review.reply is None else review.reply) == decision.reply
        and (review.category, review.priority) == (decision.category, decision.priority)
    )


async def _write_back(using: Services, ticket_id: str, record: ReviewRecord) -> None:
    """Queue the write-back of an approval (`after-review`); 503 when it cannot be."""
    route = using.helpdesk.route if using.helpdesk is not None else None
    if route is None:
        return
    detail = await using.reviews.detail(ticket_id)
    if detail.result is None:
        return
    message = approved_write_back(route, detail.ticket, detail.result, detail.transactions, record)
    if message is None:
        return
    try:
        await publish_ticket(using.broker, WRITE_BACK, message, "review")
    except BrokerError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the review is recorded, but its write-back could not be queued: "
            "send the same approval again to queue it",
        ) from error


@router.post(
    "/tickets/{ticket_id}/review",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewRecord,
    responses={
        404: {},
        409: {
            "model": ReviewConflict,
            "description": "The draft changed since it was read, the version is another "
            "ticket's, or the draft was approved or rejected already (`review` says by whom "
            "and when): a draft is decided once.",
        },
    },
)
async def post_review(
    ticket_id: str, body: ReviewIn, who: Reviewer, using: Using
) -> ReviewRecord | JSONResponse:
    """Approve (the draft, or `reply` as edited) or reject (with a `reason`) the draft
    at `draft_version`, correcting `category` and `priority` if need be. The first review
    of a draft decides it: another one is a 409 and changes nothing."""
    try:
        return await record_review(using, ticket_id, review_of(body, who, using.categories))
    except ReviewedAlready as error:
        conflict = ReviewConflict(detail=str(error.detail), review=error.review)
        return JSONResponse(conflict.model_dump(mode="json"), status.HTTP_409_CONFLICT)
