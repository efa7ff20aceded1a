"""Back-office requests: the admin behind a request's token, and what each role may do.

Admins are not customers: their accounts, passwords and logins are
:mod:`shared.services.admins`. An admin token is an HS256 JWT like the
customers' (:mod:`shared.platform.tokens`) but signed with another secret,
``KOPILKA_ADMIN_TOKEN_SECRET``, and of type ``"admin"``, carrying the roles
and the account's ``epoch``. A customer token is therefore refused here
(wrong signature, and wrong type even if the secrets were equal), and an
admin token is refused by the customer endpoints (same reasons). Admin
tokens are not issued at all while the two secrets are equal or unset.

The roles that move money (admin, accountant, manager), and any account
with an authenticator, act only with a token issued after the second factor
(``mfa`` claim; :mod:`shared.services.admin_mfa`).

Every request re-reads the account: a deactivated admin, a password reset
(``epoch`` moves on) or a role taken away apply at once, not when the token
expires. The roles in force are those of the token that the admin still holds.

Roles and what each may do (:data:`PERMISSIONS`; the table is repeated in
``functions/admin/main.py``): ``admin`` and ``marketer`` run the program
(config, promo codes, mass accruals, manual adjustments, levels and groups);
``manager`` decides payouts, places call-centre orders, marks orders
delivered (pickup, the shop's own courier), records returns and blocks (and unblocks)
customers, as ``admin`` may too;
``accountant`` only reads customers, ledgers and the liability report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.admins import ROLES
from shared.domain.errors import Forbidden, Unauthorized
from shared.domain.mfa import mfa_required
from shared.platform import tokens
from shared.services import admins
from shared.services.ports import Store

_PROGRAM = ("admin", "marketer")
_READ = ("admin", "marketer", "manager", "accountant")

#: action -> the roles that may perform it (an approval is decided by the roles of its action)
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "config.read": _PROGRAM,
    "config.replace": _PROGRAM,
    "promo.read": _PROGRAM,
    "promo.create": _PROGRAM,
    "promo.deactivate": _PROGRAM,
    "mass_accrual.read": _PROGRAM,
    "mass_accrual.run": _PROGRAM,
    "ledger.adjust": _PROGRAM,
    "customer.level": _PROGRAM,
    "customer.group": _PROGRAM,
    "payout.read": ("manager", "accountant"),
    "payout.approve": ("manager",),
    "payout.reject": ("manager",),
    "payout.mark_paid": ("manager",),
    "payout.reveal": ("manager",),  # the full destination: only the role that pays
    "order.call_centre": ("manager",),
    "order.deliver": ("manager",),
    "order.return": ("manager",),  # a return taken by the shop, by line and quantity
    "order.review": ("admin", "manager"),  # orders flagged for a manager
    "message.failed": ("admin",),  # the messages whose attempts ran out
    "customer.block": ("admin", "manager"),  # blocking and unblocking alike
    "customer.read": _READ,
    "ledger.read": _READ,
    "report.liability": ("admin", "marketer", "accountant"),
    "campaign.read": ("admin", "marketer", "accountant"),
    "audit.read": ("admin", "accountant"),
    "approval.read": ("admin", "marketer", "manager"),
    "catalog.read": _READ,
    "catalog.import": _PROGRAM,
    "catalog.edit": _PROGRAM,
    "customer.event": ("admin", "marketer", "manager"),  # an event checked by hand (a review, a repost) credited
    "sticker.manage": _PROGRAM,  # sticker batches: create, generate, export
}


def allowed(roles: Iterable[str], action: str) -> bool:
    return bool(set(roles) & set(PERMISSIONS[action]))


@dataclass(frozen=True)
class Admin:
    """The authenticated back-office user of a request."""

    email: str
    roles: tuple[str, ...]

    def can(self, action: str) -> bool:
        return allowed(self.roles, action)

    def require(self, action: str) -> Admin:
        if not self.can(action):
            raise Forbidden(
                f"the role(s) {', '.join(self.roles) or '(none)'} may not {action}",
                message_ru="Недостаточно прав для этого действия.",
                action=action,
                roles=list(self.roles),
                required=list(PERMISSIONS[action]),
            )
        return self


# --- requests -----------------------------------------------------------------------------


class MfaRequired(Forbidden):
    """These roles act only with a token issued after the second factor."""

    code = "mfa_required"
    message_ru = "Включите двухфакторный вход: без него эти действия недоступны."


def authenticate(store: Store, request: Any, now: datetime, *, enrolling: bool = False) -> Admin:
    """The admin behind the request's bearer token, or :class:`Unauthorized`.

    An account whose roles move money (:data:`~shared.domain.mfa.MFA_ROLES`),
    or that has an authenticator, is :class:`MfaRequired` (403) unless its
    token was issued after the second factor; ``enrolling`` (setting the
    authenticator up, ``/me``) lets such a token through."""
    token = tokens.bearer(request)
    if token is None:
        raise Unauthorized("an admin token is required (Authorization: Bearer …)", message_ru="Войдите в панель управления.")
    return admin_of_token(store, token, now, enrolling=enrolling)


def admin_of_token(store: Store, token: str, now: datetime, *, enrolling: bool = False) -> Admin:
    """The admin an admin token names, under the rules of :func:`authenticate` (the console's
    sessions hold the token server-side and pass it here)."""
    claims = tokens.verify(admins.token_secret(), token, now=now, kind=admins.TOKEN_KIND)
    email = str(claims["sub"])
    account = admins.account(store, email)
    if account is None or not account.active or account.epoch != claims.get("epoch"):
        raise Unauthorized("this admin session is no longer valid", message_ru="Сессия недействительна, войдите снова.")
    held = set(account.roles)
    roles = tuple(r for r in ROLES if r in held and r in set(claims.get("roles") or []))
    if not enrolling and claims.get("mfa") is not True and (mfa_required(roles) or account.mfa_enabled):
        raise MfaRequired(f"the role(s) {', '.join(roles)} act only after a second factor", roles=list(roles))
    return Admin(email=email, roles=roles)


__all__ = ["PERMISSIONS", "ROLES", "Admin", "admin_of_token", "allowed", "authenticate"]
