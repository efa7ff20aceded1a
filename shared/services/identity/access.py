"""Whether a customer token's session still stands: the customer is not blocked and the token
carries the account's session epoch (a block moves it on, revoking every session opened before)."""

from __future__ import annotations

from shared.domain.identity import CustomerToken
from shared.services.ports import Store


def check_session(store: Store, token: CustomerToken) -> None:
    """Refuse a customer token whose customer is blocked, or whose session a block revoked
    (one read of the customer's account; an unknown customer is left to the use case)."""
    blocking = store.read(lambda uow: uow.customer_contacts.blocking(token.customer_id))
    if blocking is not None:
        blocking.admits(token.epoch)
