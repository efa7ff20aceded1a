"""The HTTP edge: routing, entry helpers, scheduler and admin request auth."""
