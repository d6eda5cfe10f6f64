"""When a channel in digest mode sends: daily at digest_time, or weekly on digest_weekday, in UTC.

The outbox holds a digest channel's alerts and asks `digest_due` each cycle; because the answer
compares the last send with the most recent scheduled slot, a cycle that runs late (or a monitor
that was down at the slot) still sends once, and never twice for the same slot.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from monitor.config import DeliveryMode
from monitor.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _utc(dt: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _clock(mode: DeliveryMode) -> time:
    """digest_time as a time; the config pattern admits '25:99', so the range is checked here."""
    hh, mm = (int(x) for x in mode.digest_time.split(":"))
    if not (0 <= hh <= 23 and 0 <= mm <= 59):
        raise ConfigError(f"invalid setting digest_time: {mode.digest_time!r} is not a time of day "
                          "(HH:MM, UTC)")
    return time(hh, mm, tzinfo=UTC)


def _slot(day: datetime, clock: time) -> datetime:
    return datetime.combine(day.date(), clock)


def previous_digest_time(mode: DeliveryMode, at: datetime) -> datetime:
    """The latest scheduled slot at or before `at`."""
    at, clock = _utc(at), _clock(mode)
    if mode.digest_schedule == "weekly":
        back = (at.weekday() - WEEKDAYS.index(mode.digest_weekday)) % 7
        slot = _slot(at - timedelta(days=back), clock)
        return slot if slot <= at else slot - timedelta(days=7)
    slot = _slot(at, clock)
    return slot if slot <= at else slot - timedelta(days=1)


def next_digest_time(mode: DeliveryMode, after: datetime) -> datetime:
    """The first scheduled slot strictly after `after` (aware UTC); `after` itself in instant mode."""
    after = _utc(after)
    if mode.mode == "instant":
        return after
    step = timedelta(days=7 if mode.digest_schedule == "weekly" else 1)
    return previous_digest_time(mode, after) + step


def digest_due(mode: DeliveryMode, last_sent: datetime | None, now: datetime) -> bool:
    """True when held alerts should go out now.

    Instant mode: always (nothing is held). Digest mode: when no digest was ever sent (so a new
    installation shows its first digest without waiting up to a week), or when a scheduled slot
    has passed since the last send.
    """
    if mode.mode == "instant" or last_sent is None:
        return True
    return _utc(last_sent) < previous_digest_time(mode, now)
