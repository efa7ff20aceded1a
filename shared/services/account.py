"""The customer's personal account: profile, balance and level, bonus history, orders.

Every use case here is about one customer, named by the caller (the entry
point takes the id from the customer's token, never from the request), and
reads or writes only that customer's documents. A customer whose group is
excluded from bonuses (e.g. B2B) keeps a level label and sees no bonus data:
balance and history answer :class:`BonusesExcluded` (``{level,
bonuses_excluded: true}``) and orders carry no bonus figures.

Reads are bounded: the customer record, one page of postings (a few pages at
most when many postings move no bonuses), and one page of orders.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.api.account import (
    HISTORY_MAX_LIMIT,
    ORDERS_MAX_LIMIT,
    Balance,
    BonusesExcluded,
    ExpiringSoon,
    HistoryItem,
    HistoryPage,
    LevelLabel,
    NextLevel,
    Notifications,
    OrderItem,
    OrdersPage,
    Profile,
    ProfileUpdate,
)
from shared.domain import customer as records
from shared.domain import profile as rules
from shared.domain.config import ProgramConfig
from shared.domain.customer import bonuses_excluded, unknown_customer
from shared.domain.errors import BusinessRefusal, ValidationFailed
from shared.domain.history import describe
from shared.domain.ledger import Account, require_utc
from shared.domain.levels import effective_level, progress
from shared.domain.messages import DEFAULT_TZ
from shared.domain.payouts import held_for_payouts
from shared.services.ledger import AccountSession, postings, read_customer
from shared.services.ports import Store, UnitOfWork

if TYPE_CHECKING:
    from shared.domain.order import Order

EXPIRING_SOON_DAYS = 30
HISTORY_SCAN_PAGES = 5  # pages of postings read at most to fill one page of history

class BirthdayLocked(BusinessRefusal):
    code = "birthday_locked"
    message_ru = "Дату рождения можно указать один раз. Чтобы изменить её, обратитесь в поддержку."


def level_label(config: ProgramConfig, account: Account) -> LevelLabel:
    level = effective_level(config, account)
    return LevelLabel(code=level.code, name=level.name)


def excluded(config: ProgramConfig, account: Account) -> BonusesExcluded:
    """All a customer of an excluded group is told: the level as a label."""
    return BonusesExcluded(level=level_label(config, account))


# --- profile ------------------------------------------------------------------------------


def _profile_view(profile: records.Profile) -> Profile:
    channels = profile.channels
    return Profile(
        phone=profile.phone,
        name=profile.name,
        email=profile.email,
        birthday=profile.birthday,
        notifications=Notifications(sms=channels.sms, email=channels.email, telegram=channels.telegram),
        tz=profile.tz or DEFAULT_TZ,
    )


def get_profile(store: Store, *, customer_id: str) -> Profile:
    """The customer's profile: phone (read-only, from the login), name, e-mail, birthday, channels."""
    return _profile_view(read_customer(store, customer_id).profile)


def update_profile(store: Store, *, customer_id: str, update: ProfileUpdate, now: datetime) -> Profile:
    """Change the fields the update names; the rest stay. Returns the profile after the change.

    ``name`` and ``email`` may be ``None`` (removed). ``birthday`` is ``"YYYY-MM-DD"`` or
    ``"MM-DD"``; it is set once: a later change must keep the day and month (adding or
    correcting the year), otherwise :class:`BirthdayLocked`, since the birthday bonus is paid
    on it. ``notifications`` may name only some channels. The account's ledger fields are
    written back exactly as read, in the same transaction.
    """
    require_utc(now)
    updates: dict[str, Any] = {}
    try:
        if update.sent("name"):
            updates["name"] = None if update.name is None else rules.clean_name(update.name)
        if update.sent("email"):
            updates["email"] = None if update.email is None else rules.clean_email(update.email)
        if update.sent("tz"):
            updates["tz"] = update.tz
        birthday = rules.parse_birthday(update.birthday, now.date()) if update.birthday is not None else None
    except ValueError as exc:
        raise ValidationFailed(str(exc), message_ru="Проверьте данные профиля.") from None
    if update.sent("birthday") and birthday is None:
        raise ValidationFailed("the birthday cannot be removed", field="birthday", message_ru="Дату рождения нельзя удалить.")
    choices = update.channel_choices()

    def unit(uow: UnitOfWork) -> Profile:
        session = AccountSession(uow, customer_id)
        if not session.exists:
            raise unknown_customer(customer_id)
        fields = dict(updates)
        if birthday is not None:
            entered, month_day = birthday
            current = session.profile.birthday_md
            if current is not None and current != month_day:
                raise BirthdayLocked("the birthday is set already; only its year may change", field="birthday")
            fields.update(birthday=entered, birthday_md=month_day)
        if update.notifications is not None:
            fields["notifications"] = session.profile.channels.with_choices(choices)
        if fields:
            session.record = session.record.set_profile(**fields, profile_updated_at=now)
            session.save()
        return _profile_view(session.profile)

    return store.run(unit)


def unsubscribe_email(store: Store, *, customer_id: str, now: datetime) -> bool:
    """Switch e-mail off for the customer (a letter's one-click unsubscribe link). Idempotent:
    ``True`` when it was on; an unknown customer changes nothing."""
    require_utc(now)

    def unit(uow: UnitOfWork) -> bool:
        session = AccountSession(uow, customer_id)
        if not session.exists or not session.profile.channels.email:
            return False
        session.record = session.record.set_profile(notifications=session.profile.channels.with_choices({"email": False}), profile_updated_at=now)
        session.save()
        return True

    return store.run(unit)


# --- balance --------------------------------------------------------------------------------


def balance(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime) -> Balance | BonusesExcluded:
    """Total, available, pending and reserved bonuses, the level and the way to the next one,
    and the bonuses that expire within :data:`EXPIRING_SOON_DAYS` days."""
    require_utc(now)
    account = read_customer(store, customer_id).account
    if bonuses_excluded(config, account):
        return excluded(config, account)
    b = account.balances(now)
    horizon = now + timedelta(days=EXPIRING_SOON_DAYS)
    expiring = [lot for lot in account.lots.values() if lot.state(now) != "expired" and lot.expires_at <= horizon]
    way = progress(config, account, now)
    next_level = None
    if way.next_level is not None and way.remaining_to_next is not None:
        next_level = NextLevel(
            code=way.next_level.code,
            name=way.next_level.name,
            remaining_kopecks=way.remaining_to_next,
            remaining_roubles=-(-way.remaining_to_next // 100),
        )
    return Balance(
        level=LevelLabel(code=way.level.code, name=way.level.name),
        next_level=next_level,
        qualifying_total_kopecks=way.qualifying_total,
        total=b.total,
        available=b.available,
        pending=b.pending,
        reserved=b.reserved,
        held_for_payouts=held_for_payouts(account),
        debt=b.debt,
        expiring_soon=ExpiringSoon(
            days=EXPIRING_SOON_DAYS,
            amount=sum(lot.remaining for lot in expiring),
            next_expiry_at=min((lot.expires_at for lot in expiring), default=None),
        ),
    )


# --- history --------------------------------------------------------------------------------


def history(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime, limit: int = 20, cursor: int | None = None) -> HistoryPage | BonusesExcluded:
    """A page of the customer's bonus history, newest first.

    ``cursor`` is the previous page's ``next_cursor`` (the position in the
    customer's own postings); ``next_cursor`` is ``None`` on the last page.
    """
    require_utc(now)
    if not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1..{HISTORY_MAX_LIMIT}", field="limit")
    if cursor is not None and cursor < 1:
        raise ValidationFailed("cursor must be positive", field="cursor")
    account = read_customer(store, customer_id).account
    if bonuses_excluded(config, account):
        return excluded(config, account)
    items: list[HistoryItem] = []
    before, last_seq, exhausted = cursor, None, False
    for _ in range(HISTORY_SCAN_PAGES):
        page = postings(store, customer_id, limit=limit, before_seq=before)
        for posting in page:
            last_seq = posting.seq
            entry = describe(posting)
            if entry is not None:
                items.append(HistoryItem.model_validate(entry, from_attributes=True))
            if len(items) == limit:
                break
        if len(items) == limit:
            break
        if len(page) < limit:
            exhausted = True
            break
        before = page[-1].seq
    more = not exhausted and last_seq is not None and last_seq > 1
    return HistoryPage(items=items, next_cursor=str(last_seq) if more else None)


# --- orders --------------------------------------------------------------------------------


def _order_item(order: Order, *, with_bonuses: bool) -> OrderItem:
    """The order as the customer sees it; a group excluded from bonuses gets no bonus fields at all (unset)."""
    from shared.domain.order import OrderStatus

    delivery = order.delivery
    item: dict[str, Any] = {
        "order_id": order.order_id,
        "created_at": order.created_at,
        "status": order.status.value,
        "money_kopecks": order.money,
        "delivery": None
        if delivery is None
        else {
            "carrier": delivery.carrier,
            "tracking": delivery.tracking,
            "state": delivery.last_state,
            "detail": delivery.last_detail,
            "updated_at": delivery.last_status_at,
        },
    }
    if with_bonuses:
        returns = order.returns()
        if order.status is OrderStatus.CANCELED:
            spent = earned = 0
        elif order.awaiting_payment:
            spent, earned = order.bonuses_reserved or 0, order.points_to_earn
        else:
            spent = ((order.bonuses_reserved or 0) if order.bonuses_spent is None else order.bonuses_spent) - sum(e.spent_back for e in returns)
            earned = (order.points_to_earn if order.points_earned is None else order.points_earned) - sum(e.earned_back for e in returns)
        item.update(bonuses_spent=max(spent, 0), points_earned=max(earned, 0))
    return OrderItem.model_validate(item)


def order_list(store: Store, *, config: ProgramConfig, customer_id: str, limit: int = 20, cursor: str | None = None) -> OrdersPage:
    """A page of the customer's storefront orders (``orders/{id}`` whose ``customer_id`` is
    theirs), in order-id order; ``cursor`` is the previous page's ``next_cursor``.

    Each with its status, delivery (carrier, tracking number, the carrier's last
    state) and, unless the customer's group is excluded from bonuses, the bonuses
    spent and points earned net of returns (for an order awaiting payment: the
    bonuses reserved and the points it will earn).
    """
    # the order model and its service load with the first order page, not at the account's cold start
    from shared.services import orders

    if not 1 <= limit <= ORDERS_MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1..{ORDERS_MAX_LIMIT}", field="limit")
    account = read_customer(store, customer_id).account
    with_bonuses = not bonuses_excluded(config, account)
    ids = store.read(lambda uow: uow.orders.of_customer(customer_id, limit=limit, after=cursor))
    items = []
    for order_id in ids:
        order = orders.find_order(store, order_id)
        if order is not None and order.customer_id == customer_id:
            items.append(_order_item(order, with_bonuses=with_bonuses))
    return OrdersPage(items=items, next_cursor=ids[-1] if len(ids) == limit else None)
