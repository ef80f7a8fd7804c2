"""/api/v1/dead-letters: the tickets a stage gave up on, and sending them through again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from supporter.api.auth import require, services
from supporter.api.schemas import DeadLetterOut, Replayed
from supporter.api.services import Services
from supporter.domain.messages import WriteBackMessage, decode
from supporter.domain.people import Principal, Role
from supporter.pipeline.ingest import replay_letter
from supporter.pipeline.write_back import WRITE_BACK, WriteBackRoute, unrecorded_public_reply
from supporter.store.base import DeadLetterRecord

router = APIRouter(tags=["dead letters"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Using = Annotated[Services, Depends(services)]
# The ids are 32-bit integers in PostgreSQL.
LetterId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/dead-letters", response_model=list[DeadLetterOut])
async def list_dead_letters(
    _who: Admin, using: Using, include_resolved: bool = False
) -> list[DeadLetterOut]:
    """Pending dead letters (and resolved ones with `include_resolved`), oldest first."""
    letters = await using.store.dead_letters(include_resolved=include_resolved)
    return [DeadLetterOut.model_validate(letter.model_dump()) for letter in letters]


@router.post(
    "/dead-letters/{letter_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Replayed,
    responses={
        404: {},
        409: {
            "description": "The original message cannot be read, or it is a write-back "
            "and no helpdesk (or another) is written back here, or an approved draft "
            "that does not record whether it goes out as the public reply."
        },
    },
)
async def replay(letter_id: LetterId, _who: Admin, using: Using) -> Replayed:
    """Send a pending dead letter back to the stage that gave up on it; it is resolved
    when the ticket then succeeds."""
    letters = await using.store.dead_letters(ids=[letter_id])
    if not letters:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no pending dead letter {letter_id}")
    writes_back = using.helpdesk is not None and using.helpdesk.route is not None
    if letters[0].queue == WRITE_BACK and not writes_back:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "a write-back's dead letter is replayed where the helpdesk is written back "
            "(serve --helpdesk NAME --write-back MODE)",
        )
    if letters[0].queue == WRITE_BACK and using.helpdesk is not None:
        _check_write_back(letters[0], using.helpdesk.route)
    if not await replay_letter(using.broker, letters[0]):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "its original message cannot be read: not replayable"
        )
    return Replayed(id=letter_id, queue=letters[0].queue)


def _check_write_back(letter: DeadLetterRecord, route: WriteBackRoute | None) -> None:
    """409 for a write-back this process must not write as it stands: to another
    helpdesk, or an approved draft that does not say whether it is a public reply
    (this server's own setting is not a guess to make for it)."""
    try:
        message = decode(letter.original)
    except ValueError:
        return  # unreadable: refused below as such
    if not isinstance(message, WriteBackMessage) or route is None:
        return
    if message.helpdesk != route.helpdesk:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"a write-back to {message.helpdesk}, and this server writes back to {route.helpdesk}",
        )
    if unrecorded_public_reply(message):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "an approved draft dead-lettered before Supporter recorded whether it goes out "
            "as the public reply: replay it with `supporter dlq replay --id "
            f"{letter.id} --public-replies` (or --no-public-replies)",
        )
