"""The one reading of ``now=`` shared by every time-judging function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from svc_nb._clock import unix_seconds, utc_datetime


def test_aware_datetimes_and_numbers_agree() -> None:
    moment = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    paris = moment.astimezone(timezone(timedelta(hours=1)))
    assert unix_seconds(moment) == unix_seconds(paris) == moment.timestamp()
    assert unix_seconds(moment.timestamp()) == moment.timestamp()
    assert utc_datetime(paris) == moment and utc_datetime(paris).tzinfo is UTC
    assert utc_datetime(int(moment.timestamp())) == moment


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1), "2026-01-01", True])
def test_naive_datetimes_and_other_types_are_misuse(bad: object) -> None:
    with pytest.raises(TypeError, match="aware datetime"):
        unix_seconds(bad)  # type: ignore[arg-type]


def test_none_is_the_clock() -> None:
    before = datetime.now(UTC).timestamp()
    assert before - 1 <= unix_seconds(None) <= before + 5
