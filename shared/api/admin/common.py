"""What every back-office model shares: UTC datetimes, keys, ids, reasons, cursors, roles, strict input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
)

from shared.domain.ids import not_reserved


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
Key = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="Chosen by the caller; the same key repeats the request instead of doing it twice.")]
# an outside id (shared.domain.ids) of at most 128 characters: never ".", ".." nor "__…__"
CustomerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:@+\-]{1,128}$"), AfterValidator(not_reserved)]
Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]
Cursor = Annotated[str | None, Field(default=None, max_length=300, description="next_cursor of the previous page")]
# a page that continues after a document id (approvals, payout requests): a cursor is such an id
IdCursor = Annotated[str | None, Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", description="next_cursor of the previous page")]
Role = Literal["admin", "marketer", "manager", "accountant"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


