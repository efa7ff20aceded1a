"""Request and response models of the HTTP endpoints (the OpenAPI document is generated from them).

Each module ``shared/api/<function>.py`` declares its pydantic models and an
``ENDPOINTS`` list of :class:`Endpoint` records, one per route.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True)
class Endpoint:
    function: str  # folder under functions/
    method: str  # GET or POST
    path: str  # path inside the function, e.g. "/quote"
    summary: str
    request: type[BaseModel] | None = None  # JSON body model (None: no JSON body)
    response: type[BaseModel] | None = None
    auth: str = "none"  # none | customer | url_secret | provider | scheduler
    content_type: str = "application/json"  # or application/x-www-form-urlencoded
    errors: tuple[int, ...] = field(default=(400, 409, 422))
    query: type[BaseModel] | None = None  # query-string parameters (a flat model), e.g. a cursor and a limit
