"""Sticker codes: the batches with their generated and redeemed counts, a new batch (generated at
once), finishing a generation that stopped, and the printer's CSV. Marketer and admin
(``sticker.manage``), the same use cases as the admin API's ``/stickers`` routes."""

from __future__ import annotations

import secrets
from datetime import timedelta

from pydantic import BaseModel, Field

from console.app import NOTICES, FormInvalid, Page, Reply, page, parse_form, redirect
from console.pages.promo import moscow_input, parse_moscow
from shared.domain import errors
from shared.domain.stickers import MAX_BATCH
from shared.edge import entry
from shared.services.admin import events

NOTICES.update(stickers_created="Партия создана, коды сгенерированы.", stickers_generated="Генерация завершена.")


class BatchForm(BaseModel):
    batch_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=120)
    count: int = Field(ge=1, le=MAX_BATCH)
    points: int = Field(ge=1, le=1_000_000)
    valid_until: str = Field(min_length=1)


def _list(p: Page, *, values: dict[str, str] | None = None, fields: dict[str, str] | None = None, message: str | None = None, status: int = 200) -> Reply:
    admin = p.require("sticker.manage")
    batches = events.batch_list(entry.store(), admin)
    default_until = moscow_input(p.now + timedelta(days=365))
    return p.render(
        "stickers.html", status=status, batches=batches, values=values or {"batch_id": "b" + secrets.token_hex(6), "valid_until": default_until},
        errors=fields or {}, message=message, max_batch=MAX_BATCH,
    )


@page("GET", "/stickers")
def sticker_list(p: Page) -> Reply:
    return _list(p)


@page("POST", "/stickers")
def sticker_create(p: Page) -> Reply:
    admin = p.require("sticker.manage")
    data = p.form()
    try:
        body = parse_form(BatchForm, data)
        try:
            valid_until = parse_moscow(body.valid_until)
        except ValueError:
            raise FormInvalid({"valid_until": "Дата и время, до которых действуют коды."}) from None
        events.create_batch(entry.store(), admin, batch_id=body.batch_id, name=body.name, count=body.count, points=body.points, valid_until=valid_until, now=p.now)
    except FormInvalid as exc:
        return _list(p, values=data, fields=exc.fields, status=400)
    except (errors.ValidationFailed, errors.BusinessRefusal) as exc:
        return _list(p, values=data, message=exc.message_ru or "Партия не создана.", status=400)
    return redirect("/stickers?done=stickers_created")


@page("POST", "/stickers/{batch_id}/generate")
def sticker_generate(p: Page) -> Reply:
    admin = p.require("sticker.manage")
    events.generate(entry.store(), admin, batch_id=p.ctx.params["batch_id"])
    return redirect("/stickers?done=stickers_generated")


@page("GET", "/stickers/{batch_id}/export")
def sticker_export(p: Page) -> Reply:
    admin = p.require("sticker.manage")
    batch_id = p.ctx.params["batch_id"]
    body = "".join(events.export(entry.store(), admin, batch_id=batch_id, now=p.now))
    return Reply(body=body.encode("utf-8"), content_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="stickers-{batch_id}.csv"'})
