"""The referral partner's dashboard: personal code and link, the funnel, purchases and rewards by month.

Every customer is a partner. The personal code is created on first use
(:func:`ensure_code`): a short random code (8 characters of an alphabet
without look-alikes, about 40 bits) stored as ``promo_codes/{CODE}`` with the
partner's id (:func:`shared.services.promo.create_partner_code_in`) and on the
partner's account as ``partner_code``, in one transaction, so a partner gets
exactly one code however many requests race.

The dashboard (:func:`dashboard`) never names a referee: it counts them and
sums their purchases' rewards. It is derived from the partner's own documents
and id-only queries:

* ``registered`` — accounts opened through the partner's link or code
  (``customers`` whose ``invited_by`` is the partner);
* ``invited`` — people the link or code brought: those accounts plus existing
  customers who entered the code at checkout (``orders`` whose
  ``referral_partner_id`` is the partner; they are not bound: no binding of an
  existing customer);
* ``paying`` — referees bound by a first paid order (the account's
  ``paying_referees``; one ``customers/{partner}/referees/{referee}`` each);
* ``months`` — for the last :data:`MONTHS` months (Moscow time): rewarded
  purchases (one reward posting, source ``referral``, per delivered referee
  order), the net reward (credited less taken back on returns) and the new
  paying referees.

Reads are bounded (caps below); a figure that hit its cap is reported with
``complete: false``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from msgspec import Struct

from shared.api.account import BonusesExcluded, PartnerDashboard, PartnerMonth, PartnerReward, PartnerTotals, ReferralRate
from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.customer import bonuses_excluded, unknown_customer
from shared.domain.errors import Retryable
from shared.domain.history import REFERRAL_PREFIX
from shared.domain.ledger import Account, Allocation, Credit, Debit, Hold, Posting, Seize, Unhold, require_utc
from shared.domain.payouts import PAYABLE_SOURCE, PAYOUT_PREFIX, held_for_payouts, payable
from shared.services import promo
from shared.services.account import excluded
from shared.services.ledger import AccountSession, fold_rewards, postings, read_customer
from shared.services.ports import Store, UnitOfWork

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 8
LINK_PARAMETER = "ref"
MONTHS = 12

POSTINGS_PAGE = 200
POSTINGS_SCAN_MAX = 2000  # postings read at most for the monthly figures
COUNT_PAGE = 500
COUNT_MAX = 5000  # invitees counted at most
CODE_ORDERS_MAX = 500  # orders placed with the code read at most


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def ensure_code(store: Store, *, partner_id: str, now: datetime) -> str:
    """The partner's personal code, created once (idempotent; concurrent calls agree)."""
    require_utc(now)

    def unit(uow: UnitOfWork) -> str:
        session = AccountSession(uow, partner_id)
        if not session.exists:
            raise unknown_customer(partner_id)
        existing = session.referral.partner_code
        if existing:
            return existing
        for _ in range(8):
            code = new_code()
            if uow.promos.get(code) is None:
                break
        else:  # eight collisions in 2^40 codes: the store is lying or full
            raise Retryable("could not find a free partner code")
        promo.create_partner_code_in(uow, code=code, partner_id=partner_id, now=now)
        session.record = session.record.set_referral(partner_code=code, partner_code_created_at=now)
        session.save()
        return code

    return store.run(unit)


def referral_link(shop_url: str, code: str) -> str | None:
    """The shop's address with ``?ref=CODE`` (other query parameters kept); ``None`` without a shop URL."""
    if not shop_url:
        return None
    parts = urlsplit(shop_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != LINK_PARAMETER]
    query.append((LINK_PARAMETER, code))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))


def _month(moment: datetime) -> str:
    return moment.astimezone(MSK).strftime("%Y-%m")


def _months(now: datetime) -> list[str]:
    """The last MONTHS month keys, oldest first, ending with the current (Moscow) month."""
    today = now.astimezone(MSK).date()
    year, month = today.year, today.month
    keys = []
    for _ in range(MONTHS):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def _window_start(first_month: str) -> datetime:
    year, month = (int(part) for part in first_month.split("-"))
    return datetime(year, month, 1, tzinfo=MSK).astimezone(timezone.utc)


IdPage = Callable[[int, str | None], list[str]]  # (limit, after) -> ids in id order


def _count_matching(page_of: IdPage, cap: int) -> tuple[list[str], bool]:
    """Ids (internal only) of the pages ``page_of`` reads; complete unless the cap was hit."""
    ids: list[str] = []
    after = None
    while True:
        want = min(COUNT_PAGE, cap - len(ids))
        if want <= 0:
            return ids, False
        page = page_of(want, after)
        ids.extend(page)
        if len(page) < want:
            return ids, True
        after = page[-1]


class Funnel(Struct, frozen=True):
    invited: int
    registered: int
    complete: bool


def _funnel(store: Store, partner_id: str) -> Funnel:
    from shared.services import orders  # the order model loads with the first dashboard, not at the account's cold start

    def invited(limit: int, after: str | None) -> list[str]:
        return store.read(lambda uow: uow.accounts.invited_by(partner_id, limit=limit, after=after))

    def with_code(limit: int, after: str | None) -> list[str]:
        return store.read(lambda uow: uow.orders.with_partner_code(partner_id, limit=limit, after=after))

    registered, complete = _count_matching(invited, COUNT_MAX)
    people = set(registered)
    code_orders, orders_complete = _count_matching(with_code, CODE_ORDERS_MAX)
    for order_id in code_orders:
        order = orders.find_order(store, order_id)
        if order is not None and order.customer_id != partner_id:
            people.add(order.customer_id)
    return Funnel(invited=len(people), registered=len(registered), complete=complete and orders_complete)


def _by_month(store: Store, partner_id: str, now: datetime) -> tuple[list[PartnerMonth], bool]:
    keys = _months(now)
    start = _window_start(keys[0])
    months = {key: {"purchases": 0, "reward": 0, "new_paying": 0} for key in keys}
    complete, before, read = False, None, 0
    while read < POSTINGS_SCAN_MAX:
        page = postings(store, partner_id, limit=POSTINGS_PAGE, before_seq=before)
        read += len(page)
        for posting in page:
            if posting.at < start:
                complete = True
                break
            bucket = months.get(_month(posting.at))
            if bucket is None:
                continue
            if posting.kind == "accrue" and any(isinstance(m, Credit) and m.source == "referral" for m in posting.movements):
                bucket["purchases"] += 1
                bucket["reward"] += int(posting.outcome.get("accrued", 0))
            elif posting.kind == "reverse" and (posting.order_id or "").startswith(REFERRAL_PREFIX):
                bucket["reward"] -= int(posting.outcome.get("reversed", 0))
        if complete or len(page) < POSTINGS_PAGE:
            complete = True
            break
        before = page[-1].seq
    referees = store.read(lambda uow: uow.referees.latest(partner_id, limit=COUNT_PAGE))
    for referee in referees:
        first_paid = referee.first_paid_at
        if isinstance(first_paid, datetime) and first_paid >= start and _month(first_paid) in months:
            months[_month(first_paid)]["new_paying"] += 1
    if len(referees) == COUNT_PAGE:
        complete = False
    return [PartnerMonth(month=key, **months[key]) for key in keys], complete


REWARDS_MAX = 20  # rewards the dashboard lists


def _add(into: dict[str, int], allocations: Sequence[Allocation]) -> None:
    for a in allocations:
        into[a.lot_id] = into.get(a.lot_id, 0) + a.amount


def _rewards(store: Store, partner_id: str, account: Account, now: datetime) -> list[PartnerReward]:
    """The latest rewards and their state, from the partner's postings (newest first) and open lots."""
    page: list[Posting] = postings(store, partner_id, limit=POSTINGS_SCAN_MAX)
    credits: list[Credit] = []
    paid: dict[str, int] = {}
    clawed: dict[str, int] = {}
    spent: dict[str, int] = {}
    holds: dict[str, Sequence[Allocation]] = {}
    for posting in reversed(page):  # oldest first: a payout's hold comes before its spend
        for m in posting.movements:
            if isinstance(m, Credit) and m.source == PAYABLE_SOURCE:
                credits.insert(0, m)
            elif isinstance(m, Hold) and m.reservation.id.startswith(PAYOUT_PREFIX):
                holds[m.reservation.id] = m.reservation.allocations
            elif isinstance(m, Unhold) and posting.kind == "spend" and m.reservation_id in holds:
                _add(paid, holds.pop(m.reservation_id))
            elif isinstance(m, Seize):
                _add(clawed if posting.kind == "reverse" else spent, m.taken)
            elif isinstance(m, Debit):
                into = clawed if posting.kind == "reverse" else spent
                into[m.lot_id] = into.get(m.lot_id, 0) + m.amount
    held = {a.lot_id for r in account.reservations.values() if r.id.startswith(PAYOUT_PREFIX) for a in r.allocations}
    rewards = []
    for credit in credits[:REWARDS_MAX]:
        lot = account.lots.get(credit.lot_id)
        remaining = lot.remaining if lot is not None else 0
        lot_state = lot.state(now) if lot is not None else "gone"
        p, c = paid.get(credit.lot_id, 0), clawed.get(credit.lot_id, 0)
        if lot_state == "pending":
            state = "pending"
        elif lot_state == "active" and remaining:
            state = "payable"
        elif credit.lot_id in held:
            state = "held"
        elif lot_state == "expired" or (lot is None and not (p or c or spent.get(credit.lot_id))):
            state = "expired"
        elif c and c >= max(p, spent.get(credit.lot_id, 0)):
            state = "clawed_back"
        elif p:
            state = "paid"
        else:
            state = "spent"
        rewards.append(
            PartnerReward(
                amount=credit.amount, credited_at=credit.accrued_at, state=state,
                pending_until=lot.activates_at if lot is not None and state == "pending" else None,
                remaining=remaining, paid=p, clawed_back=c,
            )
        )
    return rewards


def _rates(config: ProgramConfig, paying: int) -> ReferralRate:
    if not config.referral.enabled:
        return ReferralRate(enabled=False, percent=Decimal(0), next_percent=None, next_from_paying=None)
    current = config.referral.schedule[0]
    following = None
    for step in config.referral.schedule:
        if paying >= step.from_paying_referees:
            current = step
        elif following is None:
            following = step
    return ReferralRate(
        enabled=True,
        percent=current.percent,
        next_percent=following.percent if following else None,
        next_from_paying=following.from_paying_referees if following else None,
    )


def dashboard(store: Store, *, config: ProgramConfig, partner_id: str, now: datetime, shop_url: str) -> PartnerDashboard | BonusesExcluded:
    """The partner's code and link, funnel counts, rate, monthly purchases and rewards, the payable
    balance (referral rewards past their hold) and held payouts.

    A customer of a group excluded from bonuses gets ``{level, bonuses_excluded: true}``.
    """
    require_utc(now)
    fold_rewards(store, partner_id)  # the rewards waiting in the inbox join the account (and its monthly figures)
    record = read_customer(store, partner_id)
    account = record.account
    if bonuses_excluded(config, account):
        return excluded(config, account)
    code = record.referral.partner_code or ensure_code(store, partner_id=partner_id, now=now)
    paying = record.referral.paying
    funnel = _funnel(store, partner_id)
    months, months_complete = _by_month(store, partner_id, now)
    pending = sum(lot.remaining for lot in account.lots.values() if lot.source == PAYABLE_SOURCE and lot.state(now) == "pending")
    return PartnerDashboard(
        code=code,
        link=referral_link(shop_url, code),
        invited=funnel.invited,
        registered=funnel.registered,
        paying=paying,
        rate=_rates(config, paying),
        reward_pending=pending,
        payable=payable(account, now),
        payouts_held=held_for_payouts(account),
        months=months,
        totals=PartnerTotals(purchases=sum(m.purchases for m in months), reward=sum(m.reward for m in months)),
        rewards=_rewards(store, partner_id, account, now),
        complete=funnel.complete and months_complete,
    )

