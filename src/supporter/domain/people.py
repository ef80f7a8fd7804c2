"""The people around the drafts: who may do what, and what they decided."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from supporter.domain.models import Priority


class Role(StrEnum):
    """`ingest` posts tickets and transactions, `reviewer` reads and reviews drafts,
    `admin` does everything (dead letters, users, tokens)."""

    ADMIN = "admin"
    REVIEWER = "reviewer"
    INGEST = "ingest"


class ReviewAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Principal(BaseModel):
    """Who a request comes from: a signed-in user or an API token."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    kind: str  # "user" or "token"


class UserInfo(BaseModel):
    """A user as `supporter users list` shows them: never their password's hash."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    created_at: datetime
    last_sign_in_at: datetime | None
    disabled_at: datetime | None


class TokenInfo(BaseModel):
    """An API token as `supporter tokens list` shows it: never the token nor its hash."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class ReviewRecord(BaseModel):
    """One row of the review audit trail."""

    model_config = ConfigDict(frozen=True)

    review_id: int
    ticket_id: str
    draft_version: str
    action: ReviewAction
    reply: str | None
    draft: str | None
    edit_distance: int | None
    category: str | None
    priority: Priority | None
    reason: str | None
    reviewer: str
    provider: str | None
    created_at: datetime
