"""Request and response models of the HTTP endpoints (the OpenAPI document is generated from them).

Each module ``shared/api/<function>.py`` declares its pydantic models and an
``ENDPOINTS`` list of :class:`Endpoint` records, one per route. The
``GET /health`` route the router answers for every function is not listed
there: :func:`health_endpoint` describes it and ``scripts/openapi.py`` adds it
for each function folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class Endpoint:
    function: str  # folder under functions/
    method: str  # GET or POST
    path: str  # path inside the function, e.g. "/quote"
    summary: str
    request: type[BaseModel] | None = None  # JSON body model (None: no JSON body)
    response: type[BaseModel] | None = None
    auth: str = "none"  # none | customer | url_secret | provider | scheduler | telegram_bot
    content_type: str = "application/json"  # or application/x-www-form-urlencoded
    errors: tuple[int, ...] = field(default=(400, 409, 422))
    query: type[BaseModel] | None = None  # query-string parameters (a flat model), e.g. a cursor and a limit
    body_optional: bool = False  # an empty body means the request model's defaults (the body is not required)
    html: bool = False  # answers a Russian page (text/html), for a person who followed a link


class HealthResponse(BaseModel):
    """What ``GET /health`` answers: the function, its build and environment (no store access)."""

    function: str = Field(description="the function's name (its folder under functions/)")
    version: str = Field(description="KOPILKA_VERSION, else the bundle's VERSION file, else dev")
    environment: str = Field(description="KOPILKA_ENV (production, staging …; local by default)")
    status: Literal["ok"]


def health_endpoint(function: str) -> Endpoint:
    return Endpoint(function, "GET", "/health", "Liveness and version of this function (no credentials, no store access)", response=HealthResponse, errors=())
