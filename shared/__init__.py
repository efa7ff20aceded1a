"""Kopilka's domain package: the loyalty rules, the ledger and their stores."""
