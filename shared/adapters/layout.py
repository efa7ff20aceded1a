"""The data model's layout: every collection and document path, in one place.

Only ``shared.adapters`` builds paths; use cases work with repositories.
The layout is described in ``docs/data-model.md``.
"""

from __future__ import annotations

# --- ledger: customers/{customer_id} with its postings and line books --------------

CUSTOMERS = "customers"  # customers/{customer_id}: the account (lots, reservations, level stats) and profile
POSTINGS = "postings"  # customers/{customer_id}/postings/{posting_id}: append-only ledger entries
LINE_BOOKS = "orders"  # customers/{customer_id}/orders/{order_id}: per-order line book (earned/spent per line)
REFEREES = "referees"  # customers/{partner_id}/referees/{referee_id}: a referee bound by a first paid order
REWARD_INBOX = "reward_inbox"  # customers/{partner_id}/reward_inbox/{order}: a reward not yet folded into the account


CUSTOMER_NAMES = "customer_names"  # customer_names/{customer_id}-{n}: the name from its n-th word on, normalised (the back office's name search)
CUSTOMER_NAME_SLOTS = 3  # the words of a name a search may start at
CUSTOMER_NAME_KEY = "name_key"  # on customer_names
CUSTOMER_EMAIL_FIELD = "email"  # on customers: the profile's e-mail, lower-cased (the back office's exact look-up)


def customer_name(customer_id: str, slot: int) -> str:
    return f"{CUSTOMER_NAMES}/{customer_id}-{slot}"


def account(customer_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}"


def postings(customer_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{POSTINGS}"


def posting(customer_id: str, posting_id: str) -> str:
    return f"{postings(customer_id)}/{posting_id}"


def line_book(customer_id: str, order_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{LINE_BOOKS}/{order_id}"


def referees(partner_id: str) -> str:
    return f"{CUSTOMERS}/{partner_id}/{REFEREES}"


def referee(partner_id: str, referee_id: str) -> str:
    return f"{referees(partner_id)}/{referee_id}"


def reward_inbox(partner_id: str) -> str:
    return f"{CUSTOMERS}/{partner_id}/{REWARD_INBOX}"


def reward_entry(partner_id: str, order_id: str) -> str:
    return f"{reward_inbox(partner_id)}/{order_id}"


# --- orders and deliveries ------------------------------------------------------------

ORDERS = "orders"  # orders/{order_id}: the storefront order (checkout, payment, delivery, returns)
TRACKING = "tracking"  # tracking/{carrier}:{code}: a carrier's tracking code pointing back at its order
ORDER_POLL_FIELD = "delivery_poll_at"  # on orders: when the poller asks the carrier next
ORDER_FALLBACK_FIELD = "delivery_fallback_at"  # on orders: when a paid order no one reported delivered is delivered by its fallback
ORDER_PLACED_FIELD = "created_at"  # on orders: when the order was placed
ORDER_CUSTOMER_FIELD = "customer_id"  # on orders: whose order it is
ORDER_FLAGGED_FIELD = "flagged_at"  # on orders: when a payment that could not settle it flagged it for a manager
PAYMENT_CLAIMS = "payment_claims"  # payment_claims/{provider}:{payment id}: the one order a shop-side payment settled


def order(order_id: str) -> str:
    return f"{ORDERS}/{order_id}"


def payment_claim(provider: str, payment_id: str) -> str:
    return f"{PAYMENT_CLAIMS}/{provider}:{payment_id}"


def tracking(carrier: str, code: str) -> str:
    return f"{TRACKING}/{carrier}:{code}"


# --- identities, codes and sessions --------------------------------------------------

IDENTITIES = "identities"  # identities/{kind}:{value}: which customer a phone (E.164) or a Telegram id belongs to
OTP_CODES = "otp_codes"  # otp_codes/{phone key}: the phone's current login code (a keyed hash)
OTP_RATE = "otp_rate"  # otp_rate/{phone key}: the phone's sends and failed verifications of the last 24 h
OTP_SENDS = "otp_sends"  # otp_sends/{send id}: one SMS of a code and the gateway's answer
SMS_BUDGET = "sms_budget"  # sms_budget/{day}-{shard}: codes sent on a Moscow day, in shards
IP_RATE = "ip_rate"  # ip_rate/{bucket}_{window}: codes requested from an address or network per window
REFRESH_TOKENS = "refresh_tokens"  # refresh_tokens/{jti}: a recorded refresh token
REFRESH_FAMILIES = "refresh_families"  # refresh_families/{family}: a revoked refresh family
OIDC_NONCES = "oidc_nonces"  # oidc_nonces/{nonce hash}: a Telegram OpenID Connect nonce used by a login


def oidc_nonce(nonce_key: str) -> str:
    return f"{OIDC_NONCES}/{nonce_key}"


def identity(kind: str, value: str | int) -> str:
    return f"{IDENTITIES}/{kind}:{value}"


def otp_code(phone_key: str) -> str:
    return f"{OTP_CODES}/{phone_key}"


def otp_rate(phone_key: str) -> str:
    return f"{OTP_RATE}/{phone_key}"


def otp_send(send_id: str) -> str:
    return f"{OTP_SENDS}/{send_id}"


def sms_budget_shard(day: str, index: int) -> str:
    return f"{SMS_BUDGET}/{day}-{index:02d}"


def ip_rate(window_id: str) -> str:
    return f"{IP_RATE}/{window_id}"


def refresh_token(jti: str) -> str:
    return f"{REFRESH_TOKENS}/{jti}"


def refresh_family(family: str) -> str:
    return f"{REFRESH_FAMILIES}/{family}"



# --- program, promo codes, payouts, cursors, notices ----------------------------------

PROGRAMS = "programs"  # programs/{program}: the head (the index of versions)
VERSIONS = "versions"  # programs/{program}/versions/{n}: one published config
PROGRAM_AUDIT = "audit"  # programs/{program}/audit/v{n:06d}: the publication of version n
PROMO_CODES = "promo_codes"  # promo_codes/{CODE}: a marketing or a partner's code
PROMO_CUSTOMERS = "customers"  # promo_codes/{CODE}/customers/{customer_id}: a customer's uses
PROMO_SHARDS = "shards"  # promo_codes/{CODE}/shards/{i}: a share of the code's uses
PAYOUTS = "payouts"  # payouts/{request_id}: a partner's payout request
SWEEPS = "sweeps"  # sweeps/{name}: a scheduled job's position
REPORT_DAYS = "report_days"  # report_days/{YYYY-MM-DD}: the day's liability snapshot and the day before's order activity


def program(program_name: str) -> str:
    return f"{PROGRAMS}/{program_name}"


def program_version(program_name: str, number: int) -> str:
    return f"{program(program_name)}/{VERSIONS}/{number}"


def program_audit(program_name: str) -> str:
    return f"{program(program_name)}/{PROGRAM_AUDIT}"


def program_publication(program_name: str, number: int) -> str:
    return f"{program_audit(program_name)}/v{number:06d}"


def promo_code(code: str) -> str:
    return f"{PROMO_CODES}/{code}"


def promo_customers(code: str) -> str:
    return f"{promo_code(code)}/{PROMO_CUSTOMERS}"


def promo_customer(code: str, customer_id: str) -> str:
    return f"{promo_customers(code)}/{customer_id}"


def promo_shard(code: str, index: int) -> str:
    return f"{promo_code(code)}/{PROMO_SHARDS}/{index}"


def payout(request_id: str) -> str:
    return f"{PAYOUTS}/{request_id}"


def sweep(name: str) -> str:
    return f"{SWEEPS}/{name}"


def report_day(day: str) -> str:
    return f"{REPORT_DAYS}/{day}"


NOTICES = "notices"  # customers/{customer_id}/notices/{key}: a notice recorded for the customer (expiry warnings)


def notices(customer_id: str) -> str:
    return f"{account(customer_id)}/{NOTICES}"


def notice(customer_id: str, key: str) -> str:
    return f"{notices(customer_id)}/{key}"


OUTBOX = "outbox"  # outbox/{key}: one message to one customer on one channel (key: the cause's natural key and the channel)


def outbox_message(key: str) -> str:
    return f"{OUTBOX}/{key}"


CARTS = "carts"  # carts/{customer_id}: a logged-in customer's last quoted cart (the abandoned-cart pass queries quoted_at)


def cart(customer_id: str) -> str:
    return f"{CARTS}/{customer_id}"


# --- back office: admins, approvals, jobs, audit ---------------------------------------

ADMINS = "admins"  # admins/{email}: a back-office account (e-mail stripped and lower-cased)


def admin(email: str) -> str:
    return f"{ADMINS}/{email}"


APPROVALS = "approvals"  # approvals/{approval_id}: a maker-checker request and its decision
JOBS = "jobs"  # jobs/{job_id}: a mass accrual's definition, cursor and counters
ADMIN_AUDIT = "audit"  # audit/{audit_id}: one back-office action (top level; programs/{p}/audit is the program's)
ADMIN_AUDIT_TARGET_FIELD = "target"  # on audit: what the action was done to ("customer:{id}", "order:{id}" …)
MAKER_WINDOWS = "maker_windows"  # maker_windows/{email}: an admin's bonus changes made without a checker, last 24 h


def approval(approval_id: str) -> str:
    return f"{APPROVALS}/{approval_id}"


def job(job_id: str) -> str:
    return f"{JOBS}/{job_id}"


def admin_audit(audit_id: str) -> str:
    return f"{ADMIN_AUDIT}/{audit_id}"


def maker_window(email: str) -> str:
    return f"{MAKER_WINDOWS}/{email}"


CONSOLE_SESSIONS = "console_sessions"  # console_sessions/{sha256 of the cookie's id}: a signed-in console browser


def console_session(key: str) -> str:
    return f"{CONSOLE_SESSIONS}/{key}"


# --- the product catalog ----------------------------------------------------------------

PRODUCTS = "products"  # products/{tilda uid}: one product of the shop's catalog (price, flags)
PRODUCT_KEYS = "product_keys"  # product_keys/{sku|external}:{sha256 of the value, 32 hex}: the product a SKU or external id names
CATALOG_IMPORTS = "catalog_imports"  # catalog_imports/{import_id}: one import's rows, progress and report
CATALOG_STATE = "catalog_state"  # catalog_state/current: the last import applied


def product(uid: str) -> str:
    return f"{PRODUCTS}/{uid}"


def product_key(kind: str, digest: str) -> str:
    return f"{PRODUCT_KEYS}/{kind}:{digest}"


def catalog_import(import_id: str) -> str:
    return f"{CATALOG_IMPORTS}/{import_id}"


def catalog_state() -> str:
    return f"{CATALOG_STATE}/current"


# --- earning events and sticker codes --------------------------------------------------

EVENT_PERIODS = "event_periods"  # customers/{customer_id}/event_periods/{rule}:{period}: credits of a capped rule in one period
STICKER_BATCHES = "sticker_batches"  # sticker_batches/{batch_id}: a print run of sticker codes
STICKER_CODES = "sticker_codes"  # sticker_codes/{code}: one code, its batch, who redeemed it
STICKER_CODE_BATCH_FIELD = "batch_id"  # on sticker_codes
STICKER_CODE_REDEEMED_FIELD = "redeemed_batch"  # on sticker_codes: the batch, once redeemed (the batch's redeemed count)
STICKER_ATTEMPTS = "sticker_attempts"  # sticker_attempts/{customer:<id>|ip:<sha256>}: wrong codes and the wait or block they earned


def event_period(customer_id: str, counter: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{EVENT_PERIODS}/{counter}"


def sticker_batch(batch_id: str) -> str:
    return f"{STICKER_BATCHES}/{batch_id}"


def sticker_code(code: str) -> str:
    return f"{STICKER_CODES}/{code}"


def sticker_attempts(who: str) -> str:
    return f"{STICKER_ATTEMPTS}/{who}"
