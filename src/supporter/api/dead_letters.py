"""/api/v1/dead-letters: the tickets a stage gave up on, and sending them through again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from supporter.api.auth import require, services
from supporter.api.schemas import DeadLetterOut, Replayed
from supporter.api.services import Services
from supporter.domain.people import Principal, Role
from supporter.pipeline.ingest import replay_letter
from supporter.pipeline.write_back import WRITE_BACK

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
            "and no helpdesk is written back here."
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
    if not await replay_letter(using.broker, letters[0]):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "its original message cannot be read: not replayable"
        )
    return Replayed(id=letter_id, queue=letters[0].queue)
