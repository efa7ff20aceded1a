"""The marketer's screens: promo codes, mass accruals and the catalog (importing this registers them)."""

from console.pages import accruals, catalog, promo

__all__ = ["accruals", "catalog", "promo"]
