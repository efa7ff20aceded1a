"""The admin function's routes for earning events and sticker batches (registered by
``functions/admin/main.py`` on its router, under the same token and role checks)."""

from __future__ import annotations

from typing import Any

from shared.api.events import AdminEventRequest, EventCreditResponse, StickerBatchList, StickerBatchRequest, StickerBatchView
from shared.edge import admin_auth, entry
from shared.edge.http import Context, Reply, Router
from shared.services.admin import events


def register(router: Router) -> None:
    @router.post("/customers/{customer_id}/events")
    def customer_event(request: Any, ctx: Context) -> EventCreditResponse:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("customer.event")
        body = ctx.body(AdminEventRequest)
        credit = events.credit_event(
            entry.store(), admin, config=entry.config(ctx.now), customer_id=ctx.params["customer_id"], event=body.event, key=body.key, rule=body.rule, note=body.note, now=ctx.now
        )
        return EventCreditResponse.credited(credit)

    @router.post("/stickers")
    def sticker_create(request: Any, ctx: Context) -> StickerBatchView:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("sticker.manage")
        body = ctx.body(StickerBatchRequest)
        return events.create_batch(entry.store(), admin, batch_id=body.batch_id, name=body.name, count=body.count, points=body.points, valid_until=body.valid_until, now=ctx.now)

    @router.get("/stickers")
    def sticker_list(request: Any, ctx: Context) -> StickerBatchList:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("sticker.manage")
        return StickerBatchList(batches=events.batch_list(entry.store(), admin))

    @router.get("/stickers/{batch_id}")
    def sticker_batch(request: Any, ctx: Context) -> StickerBatchView:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("sticker.manage")
        return events.batch(entry.store(), admin, batch_id=ctx.params["batch_id"])

    @router.post("/stickers/{batch_id}/generate")
    def sticker_generate(request: Any, ctx: Context) -> StickerBatchView:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("sticker.manage")
        return events.generate(entry.store(), admin, batch_id=ctx.params["batch_id"])

    @router.get("/stickers/{batch_id}/export")
    def sticker_export(request: Any, ctx: Context) -> Reply:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("sticker.manage")
        batch_id = ctx.params["batch_id"]
        body = "".join(events.export(entry.store(), admin, batch_id=batch_id, now=ctx.now))
        return Reply(body=body.encode("utf-8"), content_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="stickers-{batch_id}.csv"'})
