"""Orders flagged for a manager: a Tilda order whose payment could not settle it (the amounts or
the cart do not match, the payment is missing, used or lapsed) and a payment to return by hand
(a late YooMoney payment the order could no longer honour), each with what to do."""

from __future__ import annotations

from pydantic import BaseModel, Field

from console.app import Page, Reply, page, parse_form
from shared.edge import entry
from shared.services.admin import orders

#: what a manager does about each reason
WHAT_TO_DO = {
    "order_token_invalid": "Сверьте оплату в ЮKassa с заказом в Tilda; если оплата настоящая — оформите заказ по телефону, иначе верните деньги.",
    "order_token_expired": "Свяжитесь с покупателем: оформите заказ заново (бонусы не списаны) или верните оплату в ЮKassa.",
    "discount_mismatch": "Сверьте скидку в заявке Tilda с заказом; при переплате или недоплате договоритесь с покупателем о доплате или возврате разницы.",
    "cart_mismatch": "Состав корзины изменили после оформления: уточните у покупателя состав и верните деньги за лишнее или оформите заказ заново.",
    "amount_mismatch": "Сумма оплаты не совпала: проверьте платёж в ЮKassa; верните разницу или попросите доплатить, затем оформите заказ по телефону.",
    "payment_missing": "В заявке нет оплаты через ЮKassa: уточните у покупателя способ оплаты.",
    "payment_not_found": "Платёж не найден в ЮKassa: проверьте магазин и номер платежа в личном кабинете ЮKassa.",
    "payment_not_succeeded": "Платёж не завершён: дождитесь оплаты или свяжитесь с покупателем.",
    "payment_used": "Этот платёж уже засчитан за другой заказ: проверьте, не повторная ли это заявка, и верните лишнюю оплату.",
    "paid_by_another_payment": "Заказ уже оплачен: верните второй платёж в ЮKassa.",
    "agreement_lapsed": "Условия заказа больше не действуют: верните оплату покупателю в ЮKassa и предложите оформить заказ заново.",
    "refund_due": "Верните покупателю сумму платежа переводом в ЮMoney (возврата через API нет) и предложите оформить заказ заново.",
}


class FlaggedQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=300)


@page("GET", "/orders/flagged")
def flagged_orders(p: Page) -> Reply:
    p.require("order.review")
    query = parse_form(FlaggedQuery, dict(p.ctx.request.args.items()))
    found = orders.flagged_orders(entry.store(), p.admin, cursor=query.cursor, limit=50)
    return p.render("orders_flagged.html", found=found, what_to_do=WHAT_TO_DO)
