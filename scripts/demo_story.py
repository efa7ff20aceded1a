"""The Anna & Maria story's steps as ``make demo`` tells them, in either of its modes.

Each step is said once here, with its numbers; the mode (:mod:`scripts.demo` over
HTTP, :mod:`scripts.demo_browser` in headless Chromium) does what the step is about
and passes in what it got back and ``how`` it got it. The steps after the payment
(the CDEK webhook, the hold, the sweep a year on and the ledger audit) are played
here, the same in both modes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

SHOP = "https://shop.example"


def rub(kopecks: int) -> str:
    return f"{kopecks / 100:,.2f} ₽".replace(",", " ")


class Story:
    """The numbered steps printed so far, the store read for balances and the functions' URLs.

    ``ids`` names a person's customer id where it is not the name itself (a customer
    registered by an SMS login gets an id of its own)."""

    def __init__(self, store: Any, urls: dict[str, str], ids: dict[str, str] | None = None) -> None:
        self.store = store
        self.urls = urls
        self.ids = dict(ids or {})
        self.http = httpx.Client(timeout=30)
        self.step = 0

    def id(self, who: str) -> str:
        return self.ids.get(who, who)

    def say(self, title: str, *lines: str) -> None:
        self.step += 1
        print(f"\n{self.step}. {title}")
        self.note(*lines)

    def note(self, *lines: str) -> None:
        """More lines of the current step."""
        for line in lines:
            print(f"   {line}")

    def show(self, at: datetime, *who: str) -> None:
        from shared.services.ledger import balances

        for customer in who:
            b = balances(self.store, self.id(customer), at)
            print(f"   {customer:<6} total {b.total:>5} | available {b.available:>5} | pending {b.pending:>5} | reserved {b.reserved:>5}")

    def post(self, function: str, path: str, *, expect: int = 200, **kwargs: Any) -> dict[str, Any]:
        response = self.http.post(self.urls[function] + path, **kwargs)
        if response.status_code != expect:
            raise SystemExit(f"{function}{path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else {}

    def urls_list(self, **more: str) -> None:
        for name, url in {**self.urls, **more}.items():
            print(f"   {name:<16} {url}")


# --- the steps, in the story's order ------------------------------------------------------------


def program_in_force(story: Story, config: Any) -> None:
    story.say(
        "The Biomiq program is in force, published as data",
        "levels: " + ", ".join(f"{lv.name} {lv.accrual_percent}%" for lv in config.levels),
        f"bonuses pay up to {config.levels[0].max_redeem_percent}% of an order; hold {config.hold_days} days; lifetime {config.lot_lifetime_days} days",
        f"welcome {config.welcome.standard}, invited {config.welcome.invited}; partner rate "
        + ", then ".join(f"{s.percent}% from {s.from_paying_referees} paying friends" for s in config.referral.schedule),
    )


def seed_partner(store: Any, config: Any, maria: str, now: datetime) -> None:
    """Two friends of ``maria`` registered by her link, each with a paid order."""
    from shared.domain.cart import CartLine
    from shared.services import orders, registration

    for friend, order in (("olga", "B-1001"), ("irina", "B-1002")):
        if orders.find_order(store, order) is not None:  # seeded before (the local stack on a kept emulator)
            continue
        registration.register_customer(store, config=config, customer_id=friend, now=now, invited_by=maria)
        placed, _ = orders.place_order(store, config=config, customer_id=friend, order_id=order, lines=[CartLine(id="1", price=150000, quantity=1)], bonuses=0, now=now)
        orders.mark_paid(store, config=config, order_id=order, payment=orders.PaymentRef(provider="demo", id=f"seed-{order}", amount=placed.money_to_pay), now=now)


def partner(story: Story, now: datetime) -> None:
    story.say("Maria is a customer and a partner: two friends already bought through her link", "(her next paying friend moves her to the 10 % rate)")
    story.show(now, "maria")


def anonymous_cart(story: Story, *, subtotal: int, points: int, potential: int, how: str) -> None:
    story.say(
        f"Anna, not yet logged in, opens the shop by Maria's link: {how}",
        f"cart {rub(subtotal)}: she would earn {points} points, up to {potential} at the top level",
    )


def logged_in(story: Story, now: datetime, *, welcome: int, standard: int, how: str = "") -> None:
    story.say(f"Anna logs in{how} and is registered as Maria's friend: {welcome} bonuses instead of {standard}")
    story.show(now, "anna")


def bonuses_quoted(story: Story, quote: dict[str, Any], *, bonuses: int, how: str, names: dict[str, str] | None = None) -> None:
    """The logged-in quote with ``bonuses`` asked for; its lines named by ``names`` (id → name) where given."""
    names = names or {}
    story.say(
        f"Her cart, logged in, with {bonuses} bonuses applied: {how}",
        f"at most {quote['max_bonuses_by_rules']} bonuses payable (half the order); applied {quote['bonuses_applied']}",
        f"to pay {rub(quote['money_to_pay'])}; she will earn {quote['points_to_earn']} points",
        *(
            f"line {names.get(ql['id'], ql['id'])}: {rub(ql['amount'])} - {ql['bonuses_applied']} bonuses = {rub(ql['money_to_pay'])}, earns {ql['points_to_earn']}"
            for ql in quote["lines"]
        ),
    )


def checked_out(story: Story, now: datetime, *more: str, how: str, order_id: str, status: str) -> None:
    story.say(f"She checks out: {how} reserves the bonuses (a second tab cannot spend them)", f"order {order_id}: {status}", *more)
    story.show(now, "anna")


def paid(story: Story, now: datetime, title: str, *lines: str) -> None:
    story.say(title, *lines, "Maria is notified of a new paying referral (an event on the order)")
    story.show(now, "anna", "maria")


def delivered(story: Story, carriers: Any, config: Any, *, order_id: str, now: datetime, cdek_token: str) -> datetime:
    """CDEK reports the order delivered by its webhook; the moment it did."""
    from tests.fakes.carriers import cdek_webhook

    delivered_at = datetime.now(timezone.utc)
    uuid = carriers.add_cdek_order(number=order_id, statuses=[("CREATED", now), ("DELIVERED", delivered_at)])
    answer = story.post("delivery_status", f"/cdek/{cdek_token}", json=cdek_webhook(uuid, "DELIVERED", delivered_at, number=order_id))
    story.say(
        "CDEK reports DELIVERED: POST delivery_status/cdek/<secret> (the function re-reads the CDEK order)",
        f"answer: {answer}",
        f"Anna's points and Maria's 10 % reward start their {config.hold_days}-day hold",
    )
    story.show(delivered_at + timedelta(seconds=1), "anna", "maria")
    return delivered_at


def hold_passed(story: Story, config: Any, delivered_at: datetime) -> datetime:
    """The balances as of the end of the hold; that instant."""
    after_hold = delivered_at + timedelta(days=config.hold_days, seconds=1)
    story.say(f"As of {after_hold:%Y-%m-%d}, {config.hold_days} days later, the held bonuses are available")
    story.show(after_hold, "anna", "maria")
    return after_hold


def swept(story: Story, config: Any, now: datetime) -> None:
    from shared.services import account_sweep

    year_later = now + timedelta(days=config.lot_lifetime_days + 5)
    first = account_sweep.sweep_due(story.store, config=config, now=year_later)
    again = account_sweep.sweep_due(story.store, config=config, now=year_later)
    story.say(
        f"The scheduler's sweep a year on ({year_later:%Y-%m-%d}) writes off what was not spent",
        f"{first['accounts']} accounts, {first['expired']} bonuses expired; a second run expires {again['expired']}",
    )
    story.show(year_later, "anna", "maria")


def audited(story: Story) -> int:
    """The ledger audit of everyone in the story; 0 when it passes."""
    from shared.services.ledger import audit_account

    problems = [p for who in ("anna", "maria", "olga", "irina") for p in audit_account(story.store, story.id(who))]
    story.say("Ledger audit: every stored balance equals the fold of its entries", "OK" if not problems else "; ".join(problems))
    return 1 if problems else 0
