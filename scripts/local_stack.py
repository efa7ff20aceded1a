"""Every function in ONE process, with the provider fakes, the storefront kit and a demo Tilda shop.

    make run                              # on a private emulator; prints the demo shop's URL
    python -m scripts.local_stack         # the same store choice by hand: the emulator when
                                          # FIRESTORE_EMULATOR_HOST is set, else the in-memory store
    python -m scripts.local_stack --memory --base-port 8300 --ready-file /tmp/stack.json

Ports, from ``KOPILKA_BASE_PORT`` (``--base-port``, default 8081): each function on
its own, in folder order (like its own Cloud Functions URL); the provider fakes
(YooKassa, SMS.ru, CDEK; :mod:`scripts.fakes`) on base+18; the demo shop on
base+19, which also serves the kit (``/kit/``, from ``storefront/dist``, built
at start) and a fake of Tilda's forms server (``POST /tilda-forms/submit``).

The forms fake does what Tilda's server does with its own YooKassa connection:
it takes what the browser posts (the form's fields, hidden inputs included, and
``tildapayment``), creates the payment for the cart's amount in the YooKassa
fake, marks it succeeded, and posts Tilda's webhook (urlencoded, ``payment`` as
JSON text, ``systranid`` = that payment's id) to the checkout function's
``/tilda/{secret}``.

The demo program (Biomiq) is published and the story's partner is seeded:
Maria, logged in by SMS, with two friends who bought through her link. For the
console's customer screens Anna Smirnova (+79161110002, ``seed["anna"]``) has a
name and e-mail and three orders of the demo catalog: one long delivered (its
bonuses active), one of three lines delivered yesterday (on hold), one paid
for pickup (the demo's story leaves her out: it has its own Anna). Each
delivery enqueued the program's "bonuses available" message on every channel
(nothing dispatches them here: they wait to be sent); ``seed["anna"]["messages"]``
lists them as the store holds them.

"Log in with Telegram" works locally: the fakes' ``/telegram`` is Telegram's OpenID
Connect provider (:mod:`tests.fakes.telegram_oidc`): its ``/auth`` page approves at
once as the demo Telegram user, linked to Maria, and its ``/token`` and JWKS are
what the functions' ``TELEGRAM_OIDC_URL`` names.

The back-office console (the ``console`` function) has one local user per role,
``<role>@kopilka.local`` with the password ``kopilka-<role>``, each with its
authenticator already enrolled: the secret is printed (add it to an
authenticator app, or read the codes with ``pyotp``).

``GET /_stack/state`` on the shop's port answers the seed, the SMS codes sent
and the forms fake's submissions (a local tool: it is never deployed).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import urllib.parse
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from scripts import demo_story, fakes, kit, serve

ROOT = Path(__file__).resolve().parent.parent
SHOP_DIR = ROOT / "storefront" / "demo-shop"
SNIPPET_FILE = ROOT / ".run" / "tilda-snippet.html"
FAKES_OFFSET, SHOP_OFFSET = 18, 19
MARIA_PHONE = "+79161110001"
ANNA = {"phone": "+79161110002", "name": "Анна Смирнова", "email": "anna@example.ru"}
# Anna's orders from the demo catalog (catalog.csv): (id, placed and paid days ago, delivered days ago or
# None, lines (uid, name, price, quantity), bonuses spent): an old one, its accrual active; a recent one of
# three lines, part paid with bonuses, delivered yesterday: its accrual still on hold; one paid today, for pickup
ANNA_ORDERS = (
    ("A-2001", 60, 55, (("312045678903", "Тоник", 80000, 2),), 0),
    ("A-2002", 3, 1, (("312045678901", "Сыворотка", 190000, 1), ("312045678902", "Крем", 120000, 2), ("312045678903", "Тоник", 80000, 1)), 100),
    ("A-2003", 0, None, (("312045678902", "Крем", 120000, 1),), 0),
)
PROMO_CODE = "VESNA10"  # the shop's spring code: 10 % off
TELEGRAM_USER = (700100200, "maria_biomiq")  # the Telegram account the fake's login page approves as: Maria's
TELEGRAM_OIDC_SECRET = "local-telegram-oidc-secret"
SHOP_PAGES = {"/": ("shop.html", "current"), "/index.html": ("shop.html", "current"), "/legacy.html": ("shop.html", "legacy"), "/account.html": ("account.html", "")}
STATIC = {"/shop.css": "text/css", "/tilda-stub.js": "text/javascript"}


def ports(base: int) -> dict[str, int]:
    found = {name: base + i for i, name in enumerate(serve.FUNCTIONS)}
    return {**found, "fakes": base + FAKES_OFFSET, "shop": base + SHOP_OFFSET}


def environment(base: int, *, memory: bool) -> dict[str, str]:
    """The functions' environment for this stack (what serve.py gives them, on these ports)."""
    p = ports(base)
    fakes_url, shop_url = f"http://127.0.0.1:{p['fakes']}", f"http://127.0.0.1:{p['shop']}"
    env = {
        **serve.LOCAL_ENV,
        "KOPILKA_ENV": "local",
        "KOPILKA_ALLOWED_ORIGINS": f"{shop_url},http://localhost:{p['shop']}",
        "KOPILKA_SHOP_URL": shop_url + "/",
        "YOOKASSA_BASE_URL": f"{fakes_url}/yookassa/v3",
        "CDEK_BASE_URL": f"{fakes_url}/cdek/v2",
        "SMSRU_BASE_URL": f"{fakes_url}/smsru",
        "TELEGRAM_OIDC_URL": f"{fakes_url}/telegram",
        "TELEGRAM_OIDC_SECRET": TELEGRAM_OIDC_SECRET,
    }
    if memory:
        env["KOPILKA_STORE"] = "memory"
    return env


class TildaForms:
    """Tilda's forms server: the order form's post becomes a YooKassa payment and the shop's webhook."""

    def __init__(self, yookassa: Any, webhook_url: str) -> None:
        self.yookassa = yookassa
        self.webhook_url = webhook_url
        self.submissions: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._orders = iter(range(1_700_000_001, 1_800_000_000))

    def submit(self, fields: dict[str, str]) -> dict[str, Any]:
        payment_in = json.loads(fields.pop("tildapayment", "") or "{}")
        amount = round(float(payment_in.get("amount") or 0) * 100)
        with self._lock:
            orderid = str(next(self._orders))
        paid = None
        if amount > 0:
            created = self.yookassa.create_payment(amount=amount, description=f"Заказ {orderid}", metadata={"orderid": orderid, "cms_name": "tilda"})
            paid = self.yookassa.succeed(created["id"])
        payment = {
            "orderid": orderid,
            "sys": "yakassa" if paid else "none",
            "systranid": paid["id"] if paid else "0",
            "amount": payment_in.get("amount", 0),
            "subtotal": payment_in.get("prodamount", 0),
            "products": [
                {"name": p.get("name", ""), "sku": p.get("sku", ""), "externalid": p.get("externalid", ""), "quantity": p.get("quantity", 1), "price": p.get("price", 0), "amount": p.get("amount", 0)}
                for p in payment_in.get("products", [])
            ],
        }
        if payment_in.get("promocode"):
            payment.update(promocode=payment_in["promocode"], discount=payment_in.get("discount", 0))
        form = {key: value for key, value in fields.items() if not key.startswith("tildaspec-")}
        webhook = {**form, "formid": fields.get("tildaspec-formid", ""), "formname": fields.get("formname", "Cart"), "tranid": f"4815162:{orderid}", "payment": json.dumps(payment, ensure_ascii=False)}
        try:
            answer = httpx.post(self.webhook_url, data=webhook, timeout=10)
            result = {"status": answer.status_code, "body": answer.text}
        except httpx.HTTPError as exc:
            result = {"status": 0, "body": str(exc)}
        record = {"orderid": orderid, "payment_id": payment["systranid"], "amount": amount, "fields": form, "payment": payment, "sent": webhook, "webhook": result}
        with self._lock:
            self.submissions.append(record)
        return record


class Stack:
    """The functions, the fakes and the demo shop of one local run."""

    def __init__(self, base_port: int, *, memory: bool, reset: bool = False, example_customer: bool = True) -> None:
        self.base_port = base_port
        self.memory = memory
        self.reset = reset
        self.example_customer = example_customer  # Anna of the back office's screens (the demo's story has its own Anna)
        self.ports = ports(base_port)
        self.urls = {name: f"http://127.0.0.1:{self.ports[name]}" for name in serve.FUNCTIONS}
        self.fakes_url = f"http://127.0.0.1:{self.ports['fakes']}"
        self.shop_url = f"http://127.0.0.1:{self.ports['shop']}"
        self.servers: list[BaseWSGIServer | Any] = []
        self.seed: dict[str, Any] = {}

    def snippet(self) -> str:
        client_id = serve.LOCAL_ENV["TELEGRAM_BOT_TOKEN"].split(":", 1)[0]  # the OpenID Connect client id is the bot's id
        return kit.snippet(self.urls, self.shop_url + "/kit", telegram=kit.TelegramLogin(client_id=client_id, auth_url=self.fakes_url + "/telegram/auth"))

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
        os.environ.update(environment(self.base_port, memory=self.memory))
        from shared.platform import bootstrap
        from shared.platform.settings import reload

        reload()
        bootstrap.set_store(None)
        self.store = bootstrap.firestore_store()
        if self.reset and not self.memory:
            self.store.reset()  # type: ignore[attr-defined]
        self.built = kit.build()
        fake_apis, self.yookassa, self.carriers = fakes.build_fakes()
        self.sms = fake_apis["/smsru"][0].__self__  # type: ignore[attr-defined]
        fake_apis["/telegram"] = self.telegram_fake()
        bridge = fakes.make_server(self.ports["fakes"], fake_apis)
        self._serve(bridge)
        for name in serve.FUNCTIONS:
            self.servers.append(serve.in_process(name, self.ports[name]))
        self.forms = TildaForms(self.yookassa, f"{self.urls['checkout']}/tilda/{os.environ['KOPILKA_TILDA_TOKEN']}")
        self._serve(make_server("127.0.0.1", self.ports["shop"], self.shop_app(), threaded=True))
        self.publish_program()
        self.seed = self.seed_story()
        if self.example_customer:
            self.seed["anna"] = self.seed_anna()
        self.seed["telegram"] = self.link_telegram(self.seed["maria"]["customer_id"])
        self.seed["console"] = self.seed_console()

    def _serve(self, server: Any) -> None:
        self.servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def publish_program(self) -> None:
        from shared.presets import preset_data
        from shared.services import program

        name = os.environ["KOPILKA_PROGRAM"]
        if not self.store.get(f"programs/{name}"):
            now = datetime.now(timezone.utc)
            program.publish(self.store, raw=preset_data(name), author="local stack", reason="local program", effective_from=now, now=now)

    def seed_story(self) -> dict[str, Any]:
        """The shop's catalog (demo-shop/catalog.csv); Maria logs in by SMS and is a partner: two friends
        bought through her link (paid orders); the shop has a 10 % promo code."""
        from shared.adapters import catalog_sources
        from shared.domain.cart import PromoRule
        from shared.services import catalog_import, program, promo

        http = httpx.Client(timeout=30, headers={"Origin": self.shop_url})
        http.post(self.urls["sms_otp"] + "/request", json={"phone": MARIA_PHONE}).raise_for_status()
        login = http.post(self.urls["sms_otp"] + "/verify", json={"phone": MARIA_PHONE, "code": self.sms.last_code(MARIA_PHONE)})
        login.raise_for_status()
        maria = login.json()["customer_id"]
        partner = http.get(self.urls["account"] + "/partner", headers={"Authorization": "Bearer " + login.json()["access_token"]}).json()
        now = datetime.now(timezone.utc)
        config = program.in_force(self.store, os.environ["KOPILKA_PROGRAM"], now).config
        # the shop's products, imported as the back office imports Tilda Store's CSV export
        rows = catalog_sources.read_csv((SHOP_DIR / "catalog.csv").read_bytes(), marker_field=config.catalog.gift_certificate.field)
        catalog_import.apply(self.store, config, rows, source="csv", actor="local stack", now=now)
        demo_story.seed_partner(self.store, config, maria, now)
        promo.create_discount(self.store, rule=PromoRule(code=PROMO_CODE, kind="percent", percent=Decimal(10)), now=now)
        http.close()
        return {"maria": {"phone": MARIA_PHONE, "customer_id": maria, "code": partner["code"], "link": partner["link"]}, "promo_code": PROMO_CODE}

    def seed_anna(self) -> dict[str, Any]:
        """Anna: registered by her phone (as a verified SMS login leaves her), her name and e-mail in
        her profile, and the orders of the demo catalog (:data:`ANNA_ORDERS`); the messages her
        deliveries enqueued, as the store holds them."""
        from datetime import timedelta

        from shared.api.account import ProfileUpdate
        from shared.domain.cart import CartLine
        from shared.platform.settings import settings
        from shared.services import account, orders, program
        from shared.services.identity.keys import IdentityKeys
        from shared.services.identity.sessions import open_account

        now = datetime.now(timezone.utc)
        config = program.in_force(self.store, os.environ["KOPILKA_PROGRAM"], now).config
        start = now - timedelta(days=ANNA_ORDERS[0][1] + 1)
        customer_id = open_account(self.store, config=config, keys=IdentityKeys.from_settings(settings()), e164=ANNA["phone"], now=start).customer_id
        self.store.run(lambda uow: self._with_phone(uow, customer_id, ANNA["phone"], start))
        account.update_profile(self.store, customer_id=customer_id, update=ProfileUpdate(name=ANNA["name"], email=ANNA["email"]), now=start)
        for order_id, placed_days, delivered_days, lines, bonuses in ANNA_ORDERS:
            if orders.find_order(self.store, order_id) is not None:  # seeded before (a kept emulator)
                continue
            placed_at = now - timedelta(days=placed_days)
            cart = [CartLine(id=uid, name=name, price=price, quantity=quantity) for uid, name, price, quantity in lines]
            placed, _ = orders.place_order(self.store, config=config, customer_id=customer_id, order_id=order_id, lines=cart, bonuses=bonuses, now=placed_at)
            orders.mark_paid(self.store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="demo", id=f"seed-{order_id}", amount=placed.money_to_pay), now=placed_at)
            if delivered_days is not None:
                delivered_at = now - timedelta(days=delivered_days)
                orders.mark_delivered(self.store, config=config, order_id=order_id, delivered_at=delivered_at, now=delivered_at, carrier="manager")
        held = self.store.read(lambda uow: uow.outbox.of_customer(customer_id, limit=50))
        messages = [{"key": m.key, "trigger": m.trigger.value, "channel": m.channel.value, "status": m.status.value, "created_at": m.created_at.isoformat()} for m in held]
        return {**ANNA, "customer_id": customer_id, "orders": [order[0] for order in ANNA_ORDERS], "messages": messages}

    @staticmethod
    def _with_phone(uow: Any, customer_id: str, phone: str, now: datetime) -> None:
        """The verified phone on the account, as an SMS login writes it."""
        record = uow.accounts.get(customer_id)
        if record is not None and record.profile.phone is None:
            uow.accounts.save(record.set_profile(phone=phone, phone_verified_at=now))

    def seed_console(self) -> list[dict[str, Any]]:
        """One console user per role, the authenticator enrolled (confirmed with the previous step's
        code, so a sign-in in the current step is not a replay)."""
        import pyotp

        from shared.domain.admins import ROLES
        from shared.services import admin_mfa, admins

        now = datetime.now(timezone.utc)
        users = []
        for role in ROLES:
            email, password = f"{role}@kopilka.local", f"kopilka-{role}"
            account = admins.account(self.store, email)
            if account is None or not account.mfa_enabled:
                admins.create_admin(self.store, email=email, password=password, roles=[role], now=now, replace=True)
                secret = admin_mfa.setup_totp(self.store, email=email, now=now).secret
                totp = pyotp.TOTP(secret)
                admin_mfa.confirm_totp(self.store, email=email, code=totp.at(now, counter_offset=-1), now=now)
                account = admins.account(self.store, email)
            assert account is not None and account.totp is not None
            users.append({"email": email, "password": password, "role": role, "totp_secret": account.totp.secret})
        return users

    def telegram_fake(self) -> tuple[Any, str]:
        """Telegram's OpenID Connect provider, issuing for this stack's fakes URL, approving as Maria's Telegram."""
        from tests.fakes.telegram_oidc import FakeTelegramOidc

        client_id = os.environ["TELEGRAM_BOT_TOKEN"].split(":", 1)[0]
        self.telegram = FakeTelegramOidc(client_id=client_id, client_secret=TELEGRAM_OIDC_SECRET, issuer=os.environ["TELEGRAM_OIDC_URL"])
        self.telegram.login_as = TELEGRAM_USER
        return self.telegram.handle, "https://oauth.telegram.org"

    def link_telegram(self, customer_id: str) -> dict[str, Any]:
        """The demo Telegram account is linked to ``customer_id`` (as a phone-proved link leaves it)."""
        from shared.services.identity.linking import attach

        telegram_id, username = TELEGRAM_USER
        attach(self.store, telegram_id=telegram_id, username=username, customer_id=customer_id, now=datetime.now(timezone.utc))
        return {"telegram_id": telegram_id, "username": username, "customer_id": customer_id}

    def state(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "urls": self.urls,
            "shop": self.shop_url,
            "fakes": self.fakes_url,
            "kit": self.built,
            "sms": [{"to": "+" + m.to, "code": m.code} for m in self.sms.messages],
            "tilda": self.forms.submissions,
        }

    def page(self, template: str, build: str) -> str:
        text = (SHOP_DIR / template).read_text(encoding="utf-8")
        return text.replace("<!-- KOPILKA SNIPPET -->", self.snippet()).replace("{{TILDA_BUILD}}", build).replace("{{FORMS_URL}}", self.shop_url + "/tilda-forms/submit")

    def shop_app(self) -> Any:
        @Request.application  # type: ignore[arg-type]
        def app(request: Request) -> Response:
            path = request.path
            if request.method == "POST" and path == "/tilda-forms/submit":
                fields = {key: value for key, value in urllib.parse.parse_qsl(request.get_data(as_text=True), keep_blank_values=True)}
                record = self.forms.submit(fields)
                message = "Спасибо! Заказ оформлен и оплачен." if record["webhook"]["status"] == 200 else "Заказ принят."
                return Response(json.dumps({"message": message, "orderid": record["orderid"]}, ensure_ascii=False), content_type="application/json")
            if path == "/_stack/state":
                return Response(json.dumps(self.state(), ensure_ascii=False, default=str), content_type="application/json")
            if path in SHOP_PAGES:
                template, build = SHOP_PAGES[path]
                return Response(self.page(template, build), content_type="text/html; charset=utf-8")
            if path in STATIC:
                return Response((SHOP_DIR / path.lstrip("/")).read_bytes(), content_type=STATIC[path] + "; charset=utf-8")
            if path.startswith("/kit/"):
                file = kit.DIST / path.removeprefix("/kit/")
                if file.parent == kit.DIST and file.is_file():
                    kind = "application/json" if file.suffix == ".json" else "text/javascript; charset=utf-8"
                    return Response(file.read_bytes(), content_type=kind, headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=31536000, immutable"})
            return Response("Нет такой страницы", status=404, content_type="text/plain; charset=utf-8")

        return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-port", type=int, default=int(os.environ.get("KOPILKA_BASE_PORT", "8081")))
    parser.add_argument("--memory", action="store_true", help="the in-memory store even when FIRESTORE_EMULATOR_HOST is set")
    parser.add_argument("--reset", action="store_true", help="start from an empty store (the emulator's data of this project is wiped)")
    parser.add_argument("--ready-file", type=Path, help="write the stack's URLs there (JSON) once it serves")
    args = parser.parse_args()
    memory = args.memory or not os.environ.get("FIRESTORE_EMULATOR_HOST")
    if memory:
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    stack = Stack(args.base_port, memory=memory, reset=args.reset)
    stack.start()
    SNIPPET_FILE.parent.mkdir(exist_ok=True)
    SNIPPET_FILE.write_text(stack.snippet() + "\n", encoding="utf-8")
    for name, url in stack.urls.items():
        print(f"{name:<16} {url}")
    print(f"{'fakes':<16} {stack.fakes_url}")
    print(f"{'telegram login':<16} {stack.fakes_url}/telegram/auth approves as Telegram {TELEGRAM_USER[0]} (linked to Maria)")
    print(f"store            {'in memory' if memory else 'Firestore emulator ' + os.environ['FIRESTORE_EMULATOR_HOST']}")
    print(f"snippet          {SNIPPET_FILE.relative_to(ROOT)}")
    print(f"Console:         {stack.urls['console']}/  (sign in as one of these; the code comes from the authenticator secret)")
    for user in stack.seed["console"]:
        print(f"  {user['role']:<11} {user['email']:<26} password {user['password']:<20} authenticator secret {user['totp_secret']}")
    print(f"Demo shop:       {stack.shop_url}/  (older Tilda build: {stack.shop_url}/legacy.html, account: {stack.shop_url}/account.html)")
    print("Ctrl-C stops everything.", flush=True)
    if args.ready_file:
        args.ready_file.write_text(json.dumps(stack.state(), ensure_ascii=False, default=str), encoding="utf-8")
    stopping = threading.Event()
    import signal

    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
