"""Pure rules of portal access: when a personal link expires, whether a session is still valid, rate limits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def link_expiry(deadline: date, days_after: int, tz: ZoneInfo) -> datetime:
    """The end of the day ``days_after`` days after the year's deadline, in local time (returned aware)."""
    last_day = deadline + timedelta(days=days_after)
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=tz)


def is_link_usable(*, expires_at: datetime, revoked_at: datetime | None, contact_active: bool, now: datetime) -> bool:
    """A link works until it expires, unless it was revoked or its contact is no longer active."""
    return revoked_at is None and contact_active and now < expires_at


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``attempts`` failed attempts within ``window_seconds``; the next one is refused."""

    attempts: int
    window_seconds: int

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.window_seconds)

    def allows(self, recent: Iterable[datetime], now: datetime) -> bool:
        """Whether another attempt is allowed, given the failed attempts so far (older ones are ignored)."""
        start = self.window_start(now)
        return sum(1 for at in recent if start < at <= now) < self.attempts

    def retry_after(self, recent: Iterable[datetime], now: datetime) -> int:
        """Seconds until the oldest counted attempt leaves the window (0 if an attempt is allowed now)."""
        start = self.window_start(now)
        counted = sorted(at for at in recent if start < at <= now)
        if len(counted) < self.attempts:
            return 0
        oldest = counted[len(counted) - self.attempts]
        return max(1, int((oldest - start).total_seconds()) + 1)
