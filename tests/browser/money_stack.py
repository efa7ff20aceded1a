"""The local stack with a second manager, for the payout tests: a payout's approval is a
maker-checker step that only another manager may take (``python -m tests.browser.money_stack``,
the same arguments as ``scripts.local_stack``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from scripts import local_stack

CHECKER = {"email": "manager2@kopilka.local", "password": "kopilka-manager2", "role": "checker"}


def _with_checker(seed: Any) -> Any:
    def seed_console(self: Any) -> list[dict[str, Any]]:
        import pyotp

        from shared.services import admin_mfa, admins

        users: list[dict[str, Any]] = seed(self)
        now = datetime.now(timezone.utc)
        admins.create_admin(self.store, email=CHECKER["email"], password=CHECKER["password"], roles=["manager"], now=now, replace=True)
        secret = admin_mfa.setup_totp(self.store, email=CHECKER["email"], now=now).secret
        admin_mfa.confirm_totp(self.store, email=CHECKER["email"], code=pyotp.TOTP(secret).at(now, counter_offset=-1), now=now)
        return [*users, {**CHECKER, "totp_secret": secret}]

    return seed_console


if __name__ == "__main__":
    local_stack.Stack.seed_console = _with_checker(local_stack.Stack.seed_console)  # type: ignore[method-assign]
    raise SystemExit(local_stack.main())
