"""The marketer's screens: campaigns and their results, promo codes, mass accruals and the catalog (importing this registers them)."""

from console.pages import accruals, campaign_results, catalog, promo

__all__ = ["accruals", "campaign_results", "catalog", "promo"]
