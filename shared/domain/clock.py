"""The shops' calendar: Moscow time, UTC+3 all year (Moscow has had no daylight saving since 2014).

A shop's day, month and year (a birthday, a daily SMS budget, a partner's
monthly statement, a carrier's local timestamps) are counted in this zone;
moments are stored and compared in UTC.
"""

from __future__ import annotations

from datetime import timedelta, timezone

MSK = timezone(timedelta(hours=3), "MSK")
