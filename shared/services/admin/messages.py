"""The back office's view of the outbox: one customer's messages (the customer 360 page)."""

from __future__ import annotations

from shared.domain.messages import OutboxMessage, Status
from shared.edge.admin_auth import Admin
from shared.services.ports import Store

#: How the console names a trigger and a status.
TRIGGERS_RU = {
    "referral_new": "Новый покупатель по ссылке",
    "referral_reward": "Вознаграждение партнёра",
    "referral_available": "Вознаграждение доступно",
    "bonus_credited": "Начислены бонусы",
    "bonus_available": "Бонусы доступны",
    "expiry_soon": "Бонусы скоро сгорят",
    "level_changed": "Новый уровень",
    "birthday": "День рождения",
    "abandoned_cart": "Брошенная корзина",
    "winback": "Давно не покупал",
    "payout_status": "Статус выплаты",
}
STATUSES_RU = {"pending": "ждёт отправки", "sent": "отправлено", "failed": "не доставлено", "skipped": "пропущено"}
CHANNELS_RU = {"sms": "SMS", "telegram": "Telegram", "email": "E-mail"}


def customer_messages(store: Store, admin: Admin, *, customer_id: str, limit: int = 50) -> list[OutboxMessage]:
    """The customer's messages, newest first (a page of ``limit``)."""
    admin.require("customer.read")
    found = store.read(lambda uow: uow.outbox.of_customer(customer_id, limit=limit))
    return sorted(found, key=lambda m: m.created_at, reverse=True)


def failed_messages(store: Store, admin: Admin, *, limit: int = 100) -> list[OutboxMessage]:
    """The messages whose attempts ran out (``failed``), newest first (a page of ``limit``)."""
    admin.require("message.failed")
    found = store.read(lambda uow: uow.outbox.with_status(Status.FAILED, limit=limit))
    return sorted(found, key=lambda m: m.created_at, reverse=True)
