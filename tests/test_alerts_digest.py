"""Digest scheduling: daily/weekly slots in UTC, one send per slot, late cycles still send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.alerts.digest import digest_due, next_digest_time, previous_digest_time
from monitor.config import DeliveryMode
from monitor.errors import ConfigError

DAILY = DeliveryMode(mode="digest", digest_schedule="daily", digest_time="08:00")
WEEKLY = DeliveryMode(mode="digest", digest_schedule="weekly", digest_time="08:00", digest_weekday="wed")
MON = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday


def at(day_offset: int, hh: int, mm: int = 0) -> datetime:
    return MON + timedelta(days=day_offset, hours=hh, minutes=mm)


def test_next_daily():
    assert next_digest_time(DAILY, at(0, 7)) == at(0, 8)
    assert next_digest_time(DAILY, at(0, 8)) == at(1, 8)  # strictly after
    assert next_digest_time(DAILY, at(0, 23, 59)) == at(1, 8)


def test_next_weekly():
    assert next_digest_time(WEEKLY, at(0, 9)) == at(2, 8)  # Monday -> Wednesday
    assert next_digest_time(WEEKLY, at(2, 8)) == at(9, 8)  # at the slot -> next week
    assert next_digest_time(WEEKLY, at(2, 7, 59)) == at(2, 8)
    assert next_digest_time(WEEKLY, at(3, 0)).strftime("%a %H:%M") == "Wed 08:00"


def test_previous_slot_and_timezones():
    assert previous_digest_time(WEEKLY, at(0, 9)) == at(-5, 8)
    cet = timezone(timedelta(hours=1))
    assert next_digest_time(DAILY, datetime(2026, 11, 23, 8, 30, tzinfo=cet)) == at(0, 8)  # 07:30 UTC
    assert next_digest_time(DAILY, datetime(2026, 11, 23, 7, 30)) == at(0, 8)  # naive = UTC
    assert next_digest_time(DAILY, at(0, 7)).tzinfo is not None


def test_digest_due_daily():
    assert digest_due(DAILY, None, at(0, 3)) is True  # never sent: send what is pending
    last = at(-1, 8, 5)
    assert digest_due(DAILY, last, at(0, 7, 59)) is False
    assert digest_due(DAILY, last, at(0, 8)) is True
    assert digest_due(DAILY, last, at(0, 15)) is True  # a late cycle still sends
    assert digest_due(DAILY, at(0, 8, 1), at(0, 20)) is False  # once per slot


def test_digest_due_weekly():
    last = at(2, 8, 10)  # sent Wednesday
    assert digest_due(WEEKLY, last, at(8, 23)) is False  # next Tuesday
    assert digest_due(WEEKLY, last, at(9, 8)) is True  # next Wednesday 08:00
    assert digest_due(WEEKLY, at(-5, 8), at(0, 9)) is False  # Monday after a Wednesday send


def test_instant_mode():
    instant = DeliveryMode()
    assert digest_due(instant, at(0, 8), at(0, 8)) is True
    assert next_digest_time(instant, at(0, 9)) == at(0, 9)


def test_out_of_range_time_is_a_config_error():
    with pytest.raises(ConfigError):
        next_digest_time(DeliveryMode(mode="digest", digest_time="25:00"), at(0, 0))
