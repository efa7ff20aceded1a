"""account: the customer's personal account and partner dashboard, for the storefront's scripts.

    GET  /profile               -> Profile
    POST /profile               {name?, email?, birthday?, notifications?} -> Profile
    GET  /balance               -> total / available / pending / reserved, level, next level, expiring soon
    GET  /history?cursor&limit  -> bonus history, newest first
    GET  /orders?cursor&limit   -> orders with status, delivery and tracking, bonuses spent, points earned
    GET  /partner               -> personal code and link, invited / registered / paying, months
    POST /payouts               {request_id, amount, method, details} -> the request (bonuses held; details sealed, answered masked)
    GET  /payouts?cursor&limit  -> the partner's payout requests
    POST /stickers/redeem       {code} -> the sticker code's points credited (once per code; wrong codes
                                slow the next attempt and block the customer and the address after
                                stickers.max_failures: 429 retry_after / sticker_blocked)
    GET  /unsubscribe?token=    -> a Russian page: e-mail switched off (the link in every letter)
    POST /unsubscribe?token=    -> {unsubscribed: true} (RFC 8058 one-click, from the mail client)

Every route but ``/unsubscribe`` (whose signed token names its customer) needs ``Authorization: Bearer <customer token>`` (a missing, bad,
expired or non-Bearer credential is a 401; the token's session is checked
against the customer document once, so a blocked customer is a 403 and a
session a block revoked a 401) and answers about the token's customer
only: nothing in the path, query or body names a customer, and an
unexpected query parameter is a 400. Customers of a group excluded from
bonuses get ``{level, bonuses_excluded: true}`` instead of bonus data.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.api.account import (
    Balance,
    BonusesExcluded,
    HistoryPage,
    HistoryQuery,
    NoQuery,
    OrdersQuery,
    PartnerDashboard,
    Payout,
    PayoutRequest,
    PayoutsQuery,
    PayoutsResponse,
    Profile,
    ProfileUpdate,
)
from shared.api.events import StickerRedeemRequest, StickerRedeemResponse
from shared.domain.errors import Unauthorized
from shared.edge import entry
from shared.edge.http import Context, Reply, Router, client_ip, parse
from shared.platform.settings import settings
from shared.services import account as personal
from shared.services import partner, payouts

router = Router("account", cors=True, requires=("token_secret",))


def _query(request: Any, model: type[BaseModel]) -> Any:
    return parse(model, {key: request.args.get(key) for key in request.args})


def _customer(request: Any, ctx: Context) -> str:
    """The token's customer: the only customer any route here answers about."""
    return str(entry.customer_id(request, ctx.now))


@router.get("/profile")
def profile_endpoint(request: Any, ctx: Context) -> Profile:
    customer_id = _customer(request, ctx)
    _query(request, NoQuery)
    return personal.get_profile(entry.store(), customer_id=customer_id)


@router.post("/profile")
def update_profile_endpoint(request: Any, ctx: Context) -> Profile:
    customer_id = _customer(request, ctx)
    _query(request, NoQuery)
    body = ctx.body(ProfileUpdate)
    return personal.update_profile(entry.store(), customer_id=customer_id, update=body, now=ctx.now)


@router.get("/balance")
def balance_endpoint(request: Any, ctx: Context) -> Balance | BonusesExcluded:
    customer_id = _customer(request, ctx)
    _query(request, NoQuery)
    return personal.balance(entry.store(), config=entry.config(ctx.now), customer_id=customer_id, now=ctx.now)


@router.get("/history")
def history_endpoint(request: Any, ctx: Context) -> HistoryPage | BonusesExcluded:
    customer_id = _customer(request, ctx)
    query = _query(request, HistoryQuery)
    return personal.history(
        entry.store(),
        config=entry.config(ctx.now),
        customer_id=customer_id,
        now=ctx.now,
        limit=query.limit,
        cursor=int(query.cursor) if query.cursor else None,
    )


@router.get("/orders")
def orders_endpoint(request: Any, ctx: Context) -> dict[str, Any]:
    customer_id = _customer(request, ctx)
    query = _query(request, OrdersQuery)
    page = personal.order_list(entry.store(), config=entry.config(ctx.now), customer_id=customer_id, limit=query.limit, cursor=query.cursor)
    # exclude_unset: an excluded group's orders carry no bonus fields at all
    return page.model_dump(mode="json", exclude_unset=True)


@router.get("/partner")
def partner_endpoint(request: Any, ctx: Context) -> PartnerDashboard | BonusesExcluded:
    customer_id = _customer(request, ctx)
    _query(request, NoQuery)
    return partner.dashboard(entry.store(), config=entry.config(ctx.now), partner_id=customer_id, now=ctx.now, shop_url=settings().shop_url)


@router.post("/payouts")
def request_payout_endpoint(request: Any, ctx: Context) -> Payout:
    customer_id = _customer(request, ctx)
    _query(request, NoQuery)
    body = ctx.body(PayoutRequest)
    from shared.platform import sealing  # the cipher loads with the first payout request, not at a cold start

    result = payouts.request_payout(
        entry.store(),
        config=entry.config(ctx.now),
        customer_id=customer_id,
        request_id=body.request_id,
        amount=body.amount,
        method=body.method,
        details=body.details,
        now=ctx.now,
        sealer=sealing.payout_sealer(),
    )
    return Payout.model_validate(result)


@router.get("/payouts")
def payouts_endpoint(request: Any, ctx: Context) -> PayoutsResponse:
    customer_id = _customer(request, ctx)
    query = _query(request, PayoutsQuery)
    page = payouts.list_requests(entry.store(), config=entry.config(ctx.now), customer_id=customer_id, limit=query.limit, cursor=query.cursor)
    return PayoutsResponse.model_validate(page)


@router.post("/stickers/redeem")
def redeem_sticker_endpoint(request: Any, ctx: Context) -> StickerRedeemResponse:
    customer_id = _customer(request, ctx)
    _query(request, NoQuery)
    body = ctx.body(StickerRedeemRequest)
    from shared.services import stickers  # loads with the first code, not at a cold start

    done = stickers.redeem(entry.store(), config=entry.config(ctx.now), customer_id=customer_id, typed=body.code, ip=client_ip(request), now=ctx.now)
    return StickerRedeemResponse(points=done.points, activates_at=done.activates_at, expires_at=done.expires_at, message_ru=f"Начислено {done.points} бонусов.")
_PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{text}</p></main></body></html>"""


def _unsubscribe(request: Any, ctx: Context) -> None:
    from shared.adapters.message_channels import unsubscribed_customer

    token = str(request.args.get("token") or "")
    customer_id = unsubscribed_customer(settings().token_secret, token, now=ctx.now)
    personal.unsubscribe_email(entry.store(), customer_id=customer_id, now=ctx.now)


@router.get("/unsubscribe")
def unsubscribe_page(request: Any, ctx: Context) -> Reply:
    try:
        _unsubscribe(request, ctx)
    except Unauthorized:
        page = _PAGE.format(title="Ссылка недействительна", text="Ссылка для отписки повреждена или устарела. Отключить письма можно в личном кабинете.")
        return Reply(page, status=400)
    return Reply(_PAGE.format(title="Вы отписались от писем", text="Мы больше не будем присылать вам письма. Включить их снова можно в личном кабинете."))


@router.post("/unsubscribe")
def unsubscribe_one_click(request: Any, ctx: Context) -> dict[str, bool]:
    _unsubscribe(request, ctx)
    return {"unsubscribed": True}


def account(request: Any) -> Any:
    """The functions-framework entry point."""
    return router.dispatch(request)
