"""The partner's side of a referee's order: the paying-referee count, the reward and its clawback.

Each step runs in a transaction of its own on the partner's account, after
the referee's side committed (:mod:`shared.services.orders`), and is
idempotent by key, so a redelivered webhook completes a step that was lost:

* :func:`note_paying_referee` — a referee's first paid order raises the
  partner's count of paying referees (once per referee), which sets the
  partner's rate;
* :func:`credit_referral_reward` — the partner's share of a delivered order,
  held like an accrual (once per order, kept in the partner's line book
  ``ref-<referee>-<order>``);
* :func:`reverse_referral_reward` — a return takes back the reward on the
  returned part (once per return), from the partner's rewards first, held ones
  included: a payout request holding them is canceled
  (:mod:`shared.services.clawbacks`);
* :func:`recredit_reward` — the reward credited again on demand, from the
  referee's line book, when the delivery's second transaction never committed.
"""

from __future__ import annotations

from datetime import datetime

from shared.api.referral_reward import CreditResult
from shared.domain import holds
from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.customer import Referee, bonuses_excluded
from shared.domain.errors import InvalidState, NotFound
from shared.domain.ledger import Note
from shared.domain.ledger.state import merged_lot_id
from shared.domain.line_book import BookLine, OrderLineBook, plan_return
from shared.domain.messages import Trigger
from shared.domain.referral import referral_reward
from shared.domain.reward_inbox import RewardEntry
from shared.services import clawbacks, outbox, triggers
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork


def _ref_order(referee_id: str, order_id: str) -> str:
    """The partner's line book of a referee's order."""
    return f"ref-{referee_id}-{order_id}"


def note_paying_referee(store: Store, *, partner_id: str, referee_id: str, now: datetime, config: ProgramConfig | None = None) -> bool:
    """Count a referee's first paid order on the partner's account (once per referee) and, with
    ``config``, tell the partner (``referral_new``): the count and the month, nothing about the referee."""

    def unit(uow: UnitOfWork) -> bool:
        if uow.referees.get(partner_id, referee_id) is not None:
            return False
        session = AccountSession(uow, partner_id)
        uow.referees.create(partner_id, Referee(referee_id=referee_id, first_paid_at=now))
        paying = session.referral.paying + 1
        session.record = session.record.set_referral(paying_referees=paying)
        session.save()
        if config is not None:
            month = now.astimezone(MSK).strftime("%m.%Y")
            variables = {"referees": paying, "month": month, "dashboard": triggers.dashboard()}
            outbox.enqueue(uow, config, trigger=Trigger.REFERRAL_NEW, cause=f"{partner_id}:{referee_id}", customer_id=partner_id, variables=variables, due_at=now, now=now)
        return True

    return store.run(unit)


def credit_referral_reward(store: Store, *, config: ProgramConfig, book: OrderLineBook, delivered_at: datetime, now: datetime) -> int:
    """The partner's share of a delivered referee order, on the partner's account, held like an accrual.

    Computed on what the referee kept (returned lines excluded) at the
    partner's rate; credited once per order, otherwise the amount credited
    before is answered. A partner of a group excluded from bonuses, or blocked
    at delivery, earns nothing on the order (its book records 0, so an unblock
    or a group change does not credit it later).
    """
    partner_id = book.referrer_id
    assert partner_id is not None
    ref_order = _ref_order(book.customer_id, book.order_id)

    def unit(uow: UnitOfWork) -> int:
        # The book of this order is read first, so units of one instance queue per order (the store
        # queues a unit on its first document), not all on the partner's account, which they only read.
        existing = uow.line_books.get(partner_id, ref_order)
        partner = AccountSession(uow, partner_id, fold=False)  # read only: the reward waits in the partner's inbox
        if existing is not None:
            return existing.earned
        remaining = {line_id: line.paid - line.paid * line.returned // line.quantity for line_id, line in book.lines.items()}
        shares = referral_reward(config, paying_referees=partner.referral.paying, paid_by_line=remaining)
        if partner.blocking.is_blocked or (partner.exists and bonuses_excluded(config, partner.account)):  # blocked or excluded: earns none
            shares = dict.fromkeys(shares, 0)
        total = sum(shares.values())
        lot_id = None
        if total:
            entry = RewardEntry(
                partner_id=partner_id,
                order_id=ref_order,
                amount=total,
                ref=book.order_id,
                accrued_at=now,
                activates_at=holds.referral_activation(config, delivered_at),
                expires_at=holds.lot_expiry(config, now),
            )
            if partner.exists and partner.referral.paying > 0:  # the partner's sessions fold what waits (AccountSession)
                uow.reward_inbox.create(entry)  # guarded by the partner's book of this order, saved in the same commit
                lot_id = merged_lot_id("referral", entry.activates_at, entry.expires_at)
            else:  # a reward before the paying referee was counted (that step lost): straight onto the account
                lot_id = partner.post(entry.key, entry.accrual(), now=now, fresh=True).lot_id
            outbox.enqueue(uow, config, trigger=Trigger.REFERRAL_AVAILABLE, cause=ref_order, customer_id=partner_id, variables={"amount": total}, due_at=entry.activates_at, now=now)
        partner.save_order(
            OrderLineBook(
                order_id=ref_order,
                customer_id=partner_id,
                kind="referral",
                lines={
                    k: BookLine(quantity=book.lines[k].quantity - book.lines[k].returned, paid=v, earned=shares[k]) for k, v in remaining.items() if book.lines[k].quantity > book.lines[k].returned
                },
                earned_lot_id=lot_id,
                referrer_id=book.customer_id,
                delivered_at=delivered_at,
            )
        )
        triggers.referral_reward(uow, config, partner_id=partner_id, ref_order=ref_order, amount=total, now=now)
        return total

    return store.run(unit)


def reverse_referral_reward(store: Store, *, config: ProgramConfig, partner_id: str, referee_id: str, order_id: str, return_id: str, returns: dict[str, int], now: datetime) -> int:
    """Take back the partner's reward on the returned units (once per return); the amount taken."""
    ref_order = _ref_order(referee_id, order_id)

    def unit(uow: UnitOfWork) -> int:
        partner = AccountSession(uow, partner_id)
        book = partner.order(ref_order)
        if book is None:  # not delivered yet: no reward was credited
            return 0
        key = f"reverse:{ref_order}:{return_id}"
        done = uow.postings.get(partner_id, key)
        if done is not None:
            return int(done.outcome["reversed"])
        applicable = {k: v for k, v in returns.items() if k in book.lines}
        plan = plan_return(book, applicable) if applicable else None
        taken = 0
        if plan is not None and plan.earned_back:
            taken = clawbacks.take_back(partner, key, config=config, amount=plan.earned_back, own_lot_id=book.earned_lot_id, order_id=ref_order, reward=True, now=now).reversed
        else:  # nothing to take, but done: a redelivery must not return the units a second time
            partner.post(key, Note(data={"reversed": 0}), now=now)
        if plan is not None:
            partner.save_order(plan.book)
        return taken

    return store.run(unit)


def recredit_reward(store: Store, *, config: ProgramConfig, order_id: str, now: datetime) -> CreditResult:
    """(Re)credit the partner's reward of a delivered order; idempotent.

    The reward is computed on what the referee kept (returned lines excluded)
    at the partner's rate, and held ``referral_hold_days`` from the delivery.
    An order without a partner gets ``reward: 0``; one not delivered yet is
    :class:`InvalidState`.
    """

    def read(uow: UnitOfWork) -> tuple[str, OrderLineBook | None]:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("unknown order", order_id=order_id, message_ru="Заказ не найден.")
        return order.status.value, uow.line_books.get(order.customer_id, order_id)

    status, book = store.read(read)
    if book is None:
        raise InvalidState("the order has not been paid", order_id=order_id, status=status)
    if book.referrer_id is None:
        return CreditResult(order_id=order_id, partner_id=None, reward=0)
    if book.delivered_at is None:
        raise InvalidState("the order has not been delivered yet", order_id=order_id, status=status, message_ru="Заказ ещё не доставлен.")
    reward = credit_referral_reward(store, config=config, book=book, delivered_at=book.delivered_at, now=now)
    return CreditResult(order_id=order_id, partner_id=book.referrer_id, reward=reward)
