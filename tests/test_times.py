"""Tests for bot.daily.times: parsing what users type, and when daily quotes go out."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time as clock
from zoneinfo import ZoneInfo, available_timezones

import pytest

from bot.daily.times import (
    ScheduleError,
    Zone,
    due_catch_up,
    local_day,
    next_send,
    parse_subscribe_args,
    parse_time,
    parse_zone,
)

UTC = dt.UTC
T = dt.time


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def at(zone: str, *args: int, fold: int = 0) -> dt.datetime:
    """An aware instant given as wall time in an IANA zone."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def wall(instant: dt.datetime, zone: Zone) -> dt.datetime:
    return instant.astimezone(zone.tzinfo).replace(tzinfo=None)


def wall_time_exists(day: dt.date, t: dt.time, tz: dt.tzinfo) -> bool:
    """Independent check: does the wall clock ever read `t` on `day`?"""
    naive = dt.datetime.combine(day, t)
    return any(
        naive.replace(tzinfo=tz, fold=f).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        == naive
        for f in (0, 1)
    )


# --- parse_time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8:00", T(8, 0)),
        ("08:00", T(8, 0)),
        ("20:30", T(20, 30)),
        ("0:00", T(0, 0)),
        ("23:59", T(23, 59)),
        (" 7:15 ", T(7, 15)),
        ("20.30", T(20, 30)),
        ("8", T(8, 0)),
        ("８", T(8, 0)),
        ("０８：００", T(8, 0)),
        ("２０：３０", T(20, 30)),
        ("8点", T(8, 0)),
        ("8點", T(8, 0)),
        ("8点30", T(8, 30)),
        ("８点３０", T(8, 30)),
        ("8点30分", T(8, 30)),
        ("8点5分", T(8, 5)),
        ("8点半", T(8, 30)),
        ("21时", T(21, 0)),
        ("21時05分", T(21, 5)),
        ("8am", T(8, 0)),
        ("8 PM", T(20, 0)),
        ("8:30pm", T(20, 30)),
        ("8:30 p.m.", T(20, 30)),
        ("12am", T(0, 0)),
        ("12pm", T(12, 0)),
    ],
)
def test_parse_time_accepts(text: str, expected: dt.time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "25:00",
        "24:00",
        "8:60",
        "-1:00",
        "8:5",  # ambiguous: 8:05 or 8:50
        "8点5",  # same ambiguity without 分
        "8:00:00",
        "008:00",
        "8::00",
        "13pm",
        "0am",
        "25点",
        "+8",
        "Asia/Shanghai",
        "٨:٠٠",  # Arabic-Indic digits: not ASCII after NFKC
    ],
)
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_time(text)
    assert info.value.code == "bad_time"
    assert info.value.value == text


@pytest.mark.parametrize("text", ["8" * 10_000, "8:00" + " " * 10_000, "０" * 10_000])
def test_parse_huge_input_is_rejected_fast_and_error_value_is_short(text: str) -> None:
    start = clock.perf_counter()
    with pytest.raises(ScheduleError) as time_err:
        parse_time(text)
    with pytest.raises(ScheduleError) as zone_err:
        parse_zone(text)
    assert clock.perf_counter() - start < 0.05
    assert len(time_err.value.value) <= 40
    assert len(zone_err.value.value) <= 40


def test_schedule_error_is_a_value_error_with_code() -> None:
    err = ScheduleError("bad_zone", "Mars/Base")
    assert isinstance(err, ValueError)
    assert (err.code, err.value) == ("bad_zone", "Mars/Base")


# --- parse_zone and Zone ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("asia/shanghai", "Asia/Shanghai"),
        ("ASIA/SHANGHAI", "Asia/Shanghai"),
        ("america/new_york", "America/New_York"),
        ("America/New York", "America/New_York"),
        ("america/argentina/buenos_aires", "America/Argentina/Buenos_Aires"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("Etc/GMT+8", "Etc/GMT+8"),  # IANA key kept as is (POSIX sign: UTC-8)
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("GMT", "UTC"),
        ("Z", "UTC"),
        ("UTC+0", "UTC"),
        ("-00:00", "UTC"),
        ("UTC+8", "UTC+08:00"),
        ("utc+8", "UTC+08:00"),
        ("UTC+08:00", "UTC+08:00"),
        ("UTC-3:30", "UTC-03:30"),
        ("UTC−3:30", "UTC-03:30"),  # U+2212 minus sign
        ("GMT+5", "UTC+05:00"),
        ("+8", "UTC+08:00"),
        ("＋８", "UTC+08:00"),
        ("ＵＴＣ＋８", "UTC+08:00"),
        ("+0530", "UTC+05:30"),
        ("+530", "UTC+05:30"),
        ("+05:45", "UTC+05:45"),
        ("UTC-12", "UTC-12:00"),
        ("UTC+14", "UTC+14:00"),
        ("UTC+14:00", "UTC+14:00"),
    ],
)
def test_parse_zone_accepts(text: str, name: str) -> None:
    zone = parse_zone(text)
    assert zone.name == name
    assert Zone.from_name(zone.name) == zone


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "Mars/Olympus_Mons",
        "Shanghai",
        "UTC+15",
        "UTC-13",
        "UTC+14:30",
        "UTC-12:30",
        "+8:60",
        "UTC+8:5",
        "+123456",
        "8",
        "../../etc/passwd",
        "/etc/localtime",
        "Europe/../Europe/Berlin",
        "Europe/Berlin/",
        "Europe//Berlin",
        "localtime",
        "Factory",
        "Europe/Berlin\x00",
        "UTC+8 Asia/Shanghai",
    ],
)
def test_parse_zone_rejects(text: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_zone(text)
    assert info.value.code == "bad_zone"


def test_zone_offsets_and_tzinfo() -> None:
    moment = utc(2024, 1, 15, 12)
    assert parse_zone("UTC+8").tzinfo.utcoffset(moment) == dt.timedelta(hours=8)
    assert parse_zone("UTC-3:30").tzinfo.utcoffset(moment) == -dt.timedelta(hours=3, minutes=30)
    assert parse_zone("Asia/Kolkata").tzinfo.utcoffset(moment) == dt.timedelta(hours=5, minutes=30)
    # "GMT+5" is what users mean (UTC+5); the IANA key Etc/GMT+5 keeps its POSIX sign.
    assert parse_zone("GMT+5").tzinfo.utcoffset(moment) == dt.timedelta(hours=5)
    assert parse_zone("Etc/GMT+5").tzinfo.utcoffset(moment) == dt.timedelta(hours=-5)


def test_zone_is_a_frozen_hashable_value() -> None:
    a, b = parse_zone("asia/shanghai"), Zone.from_name("Asia/Shanghai")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert str(a) == "Asia/Shanghai"
    with pytest.raises(AttributeError):
        a.name = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize(
    "stored",
    ["asia/shanghai", "UTC+8", "UTC+8:00", "UTC+00:00", "UTC+15:00", "", "../x"],
)
def test_zone_from_name_only_accepts_canonical_spelling(stored: str) -> None:
    with pytest.raises(ScheduleError):
        Zone.from_name(stored)


def test_every_available_zone_round_trips() -> None:
    for key in available_timezones() - {"localtime", "Factory"}:
        zone = parse_zone(key)
        assert Zone.from_name(zone.name) == zone
        assert parse_zone(key.lower()) == zone


# --- parse_subscribe_args ---------------------------------------------------------------

DEFAULT = Zone.from_name("Europe/Moscow")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], (T(8, 0), "Europe/Moscow")),
        (["21:00"], (T(21, 0), "Europe/Moscow")),
        (["Europe/Berlin"], (T(8, 0), "Europe/Berlin")),
        (["21:00", "UTC+8"], (T(21, 0), "UTC+08:00")),
        (["UTC+8", "21:00"], (T(21, 0), "UTC+08:00")),
        (["+8", "8"], (T(8, 0), "UTC+08:00")),
        (["８点半", "asia/shanghai"], (T(8, 30), "Asia/Shanghai")),
        (["-3:30", "7:00"], (T(7, 0), "UTC-03:30")),
    ],
)
def test_parse_subscribe_args(args: list[str], expected: tuple[dt.time, str]) -> None:
    when, zone = parse_subscribe_args(args, DEFAULT)
    assert (when, zone.name) == expected


def test_parse_subscribe_args_custom_default_time() -> None:
    assert parse_subscribe_args(["UTC"], DEFAULT, T(9, 15)) == (T(9, 15), Zone.from_name("UTC"))


@pytest.mark.parametrize(
    ("args", "code", "value"),
    [
        (["8:00", "UTC", "extra"], "too_many_args", "extra"),
        (["8:00", "9:00"], "too_many_args", "9:00"),
        (["UTC", "Asia/Tokyo"], "too_many_args", "Asia/Tokyo"),
        (["25:00"], "bad_time", "25:00"),
        (["8:5", "UTC"], "bad_time", "8:5"),
        (["Mars/Base"], "bad_zone", "Mars/Base"),
        (["8:00", "UTC+20"], "bad_zone", "UTC+20"),
        (["../../etc/passwd"], "bad_zone", "../../etc/passwd"),
    ],
)
def test_parse_subscribe_args_errors(args: list[str], code: str, value: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_subscribe_args(args, DEFAULT)
    assert (info.value.code, info.value.value) == (code, value)


# --- next_send ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_time", "zone", "after", "expected"),
    [
        # ordinary day, before and after the time
        (T(8), "Europe/Berlin", utc(2024, 6, 10, 5), utc(2024, 6, 10, 6)),
        (T(8), "Europe/Berlin", utc(2024, 6, 10, 7), utc(2024, 6, 11, 6)),
        # strictly after: exactly at the send time means tomorrow
        (T(8), "Europe/Berlin", utc(2024, 6, 10, 6), utc(2024, 6, 11, 6)),
        # across local midnight / the UTC date differs from the local date
        (T(23, 30), "Europe/Berlin", utc(2024, 6, 10, 22), utc(2024, 6, 11, 21, 30)),
        (T(7), "Asia/Shanghai", utc(2024, 6, 10, 12), utc(2024, 6, 10, 23)),
        (T(0, 0), "America/New_York", utc(2024, 6, 10, 3), utc(2024, 6, 10, 4)),
        # month end, leap day, year end
        (T(8), "Europe/Berlin", utc(2024, 4, 30, 7), utc(2024, 5, 1, 6)),
        (T(8), "Europe/Berlin", utc(2024, 2, 28, 8), utc(2024, 2, 29, 7)),
        (T(8), "Europe/Berlin", utc(2024, 12, 31, 22), utc(2025, 1, 1, 7)),
        (T(20), "America/New_York", utc(2025, 1, 1, 0, 30), utc(2025, 1, 1, 1)),
        (T(9), "Pacific/Auckland", utc(2024, 12, 30, 21), utc(2024, 12, 31, 20)),
        # half-hour and fixed-offset zones
        (T(8), "Asia/Kolkata", utc(2024, 6, 10), utc(2024, 6, 10, 2, 30)),
        (T(8), "Asia/Kathmandu", utc(2024, 6, 10), utc(2024, 6, 10, 2, 15)),
        (T(8), "UTC-03:30", utc(2024, 6, 10), utc(2024, 6, 10, 11, 30)),
        (T(8), "UTC+14:00", utc(2024, 6, 10), utc(2024, 6, 10, 18)),
        (T(8), "UTC", utc(2024, 6, 10, 8), utc(2024, 6, 11, 8)),
    ],
)
def test_next_send_ordinary(
    local_time: dt.time, zone: str, after: dt.datetime, expected: dt.datetime
) -> None:
    result = next_send(local_time, Zone.from_name(zone), after)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("zone", "local_time", "after", "expected", "expected_wall"),
    [
        # Spring forward (gap): 02:30 does not exist; fold=0 sends gap-length later.
        ("Europe/Berlin", T(2, 30), utc(2024, 3, 30, 12), utc(2024, 3, 31, 1, 30), T(3, 30)),
        ("America/New_York", T(2, 30), utc(2024, 3, 9, 12), utc(2024, 3, 10, 7, 30), T(3, 30)),
        ("Australia/Sydney", T(2, 30), utc(2024, 10, 5, 0), utc(2024, 10, 5, 16, 30), T(3, 30)),
        # Times next to the gap are untouched.
        ("Europe/Berlin", T(1, 59), utc(2024, 3, 30, 12), utc(2024, 3, 31, 0, 59), T(1, 59)),
        ("Europe/Berlin", T(3, 0), utc(2024, 3, 30, 12), utc(2024, 3, 31, 1, 0), T(3, 0)),
        ("Europe/Berlin", T(8), utc(2024, 3, 30, 12), utc(2024, 3, 31, 6), T(8)),
        # Fall back (fold): 02:30 / 01:30 happen twice; the first occurrence wins.
        ("Europe/Berlin", T(2, 30), utc(2024, 10, 26, 12), utc(2024, 10, 27, 0, 30), T(2, 30)),
        ("America/New_York", T(1, 30), utc(2024, 11, 2, 12), utc(2024, 11, 3, 5, 30), T(1, 30)),
        ("Australia/Sydney", T(2, 30), utc(2024, 4, 6, 0), utc(2024, 4, 6, 15, 30), T(2, 30)),
        ("Europe/Berlin", T(8), utc(2024, 10, 26, 12), utc(2024, 10, 27, 7), T(8)),
    ],
)
def test_next_send_dst(
    zone: str,
    local_time: dt.time,
    after: dt.datetime,
    expected: dt.datetime,
    expected_wall: dt.time,
) -> None:
    z = Zone.from_name(zone)
    result = next_send(local_time, z, after)
    assert result == expected
    assert wall(result, z).time() == expected_wall


@pytest.mark.parametrize(
    ("zone", "local_time", "first", "second"),
    [
        ("Europe/Berlin", T(2, 30), utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30)),
        ("America/New_York", T(1, 30), utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 6, 30)),
        ("Australia/Sydney", T(2, 30), utc(2024, 4, 6, 15, 30), utc(2024, 4, 6, 16, 30)),
    ],
)
def test_next_send_fold_sends_once(
    zone: str, local_time: dt.time, first: dt.datetime, second: dt.datetime
) -> None:
    z = Zone.from_name(zone)
    # Both instants read local_time on the wall clock...
    assert wall(first, z).time() == wall(second, z).time() == local_time
    # ...but after the first, the next send is tomorrow, not the repeat.
    following = next_send(local_time, z, first)
    assert following > second
    assert local_day(following, z) == local_day(first, z) + dt.timedelta(days=1)
    # Between the two occurrences, the repeat is skipped too.
    assert next_send(local_time, z, first + dt.timedelta(minutes=30)) == following


def test_next_send_accepts_any_aware_after_and_rejects_naive() -> None:
    z = Zone.from_name("Europe/Berlin")
    after_tokyo = at("Asia/Tokyo", 2024, 6, 10, 14)  # = 05:00 UTC
    assert next_send(T(8), z, after_tokyo) == utc(2024, 6, 10, 6)
    with pytest.raises(TypeError):
        next_send(T(8), z, dt.datetime(2024, 6, 10, 5))
    with pytest.raises(TypeError):
        next_send(T(8, tzinfo=UTC), z, utc(2024, 6, 10))


def test_next_send_day_removed_from_calendar() -> None:
    # Samoa skipped 2011-12-30 entirely when it crossed the date line.
    z = Zone.from_name("Pacific/Apia")
    first = next_send(T(8), z, at("Pacific/Apia", 2011, 12, 29, 9))
    assert wall(first, z) == dt.datetime(2011, 12, 31, 8)
    assert next_send(T(8), z, first) == at("Pacific/Apia", 2012, 1, 1, 8)


def _sends_for_year(local_time: dt.time, zone: Zone, year: int) -> list[dt.datetime]:
    after = dt.datetime(year, 1, 1, tzinfo=zone.tzinfo) - dt.timedelta(microseconds=1)
    sends: list[dt.datetime] = []
    while True:
        after = next_send(local_time, zone, after)
        if local_day(after, zone).year != year:
            return sends
        sends.append(after)


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC-03:30"]
)
@pytest.mark.parametrize("local_time", [T(0, 0), T(1, 30), T(2, 30), T(8, 0), T(23, 59)])
@pytest.mark.parametrize("year", [2024, 2025])
def test_one_send_per_local_day_for_a_year(zone: str, local_time: dt.time, year: int) -> None:
    z = Zone.from_name(zone)
    sends = _sends_for_year(local_time, z, year)
    days = [local_day(s, z) for s in sends]
    n_days = 366 if year % 4 == 0 else 365
    assert len(sends) == n_days
    assert days == [dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(n_days)]
    assert all(a < b for a, b in itertools.pairwise(sends))
    assert all(s.tzinfo is UTC for s in sends)
    for send, day in zip(sends, days, strict=True):
        if wall_time_exists(day, local_time, z.tzinfo):
            assert wall(send, z).time() == local_time
        else:  # DST gap: documented fold=0 shift, by exactly the gap length (1 h here)
            shifted = dt.datetime.combine(day, local_time) + dt.timedelta(hours=1)
            assert wall(send, z) == shifted
    gap_days = sum(not wall_time_exists(d, local_time, z.tzinfo) for d in days)
    if zone in {"Europe/Berlin", "America/New_York", "Australia/Sydney"} and local_time == T(2, 30):
        assert gap_days == 1
    else:
        assert gap_days == 0


def _check_one_send_per_day(zone: Zone, local_time: dt.time, start: dt.datetime, n: int) -> None:
    """Feed next_send its own result; each local day gets at most one send, and only days
    on which the wall clock never reads local_time (removed days) get none."""
    sends = [next_send(local_time, zone, start)]
    for _ in range(n):
        sends.append(next_send(local_time, zone, sends[-1]))
    days = [local_day(s, zone) for s in sends]
    assert local_day(start, zone) <= days[0]
    for (a, b), (da, db) in zip(itertools.pairwise(sends), itertools.pairwise(days), strict=True):
        assert a < b
        assert da < db
        skipped = (da + dt.timedelta(days=i) for i in range(1, (db - da).days))
        assert not any(wall_time_exists(d, local_time, zone.tzinfo) for d in skipped)
    for send, day in zip(sends, days, strict=True):
        if wall_time_exists(day, local_time, zone.tzinfo):
            assert wall(send, zone).time() == local_time
            # first occurrence: no earlier instant that day read the same wall time
            naive = dt.datetime.combine(day, local_time)
            earlier = naive.replace(tzinfo=zone.tzinfo, fold=0).astimezone(UTC)
            assert send <= earlier or wall(earlier, zone) != naive


ALL_ZONES = sorted(available_timezones() - {"localtime", "Factory"})


def test_one_send_per_day_sampled_zones() -> None:
    """Deterministic stand-in for the property test, so it also runs without hypothesis."""
    rng = random.Random(20240331)
    for key in rng.sample(ALL_ZONES, 40):
        t = T(rng.randrange(24), rng.choice([0, 15, 30, 59]))
        start = utc(rng.randrange(2000, 2036), rng.randrange(1, 13), 1)
        _check_one_send_per_day(Zone.from_name(key), t, start, 60)


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is an optional dev dependency
    pass
else:

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(
        key=st.sampled_from(ALL_ZONES),
        local_time=st.times(),
        start=st.datetimes(
            dt.datetime(1990, 1, 1), dt.datetime(2037, 12, 1), timezones=st.just(UTC)
        ),
    )
    def test_one_send_per_day_property(key: str, local_time: dt.time, start: dt.datetime) -> None:
        _check_one_send_per_day(Zone.from_name(key), local_time, start, 40)


# --- local_day ------------------------------------------------------------------------


def test_local_day() -> None:
    instant = utc(2024, 6, 30, 23, 30)
    assert local_day(instant, Zone.from_name("Asia/Shanghai")) == dt.date(2024, 7, 1)
    assert local_day(instant, Zone.from_name("America/New_York")) == dt.date(2024, 6, 30)
    assert local_day(instant, Zone.from_name("UTC")) == dt.date(2024, 6, 30)
    assert local_day(instant, Zone.from_name("UTC+00:30")) == dt.date(2024, 7, 1)
    with pytest.raises(TypeError):
        local_day(dt.datetime(2024, 6, 30, 23, 30), Zone.from_name("UTC"))


# --- due_catch_up -------------------------------------------------------------------------

BERLIN = Zone.from_name("Europe/Berlin")


@pytest.mark.parametrize(
    ("last_sent", "now", "expected"),
    [
        (None, at("Europe/Berlin", 2024, 6, 10, 7, 59), False),  # not yet time today
        (None, at("Europe/Berlin", 2024, 6, 10, 8, 0), True),  # exactly due
        (None, at("Europe/Berlin", 2024, 6, 10, 12), True),  # missed, never sent
        (dt.date(2024, 6, 9), at("Europe/Berlin", 2024, 6, 10, 12), True),  # missed today
        (dt.date(2024, 6, 1), at("Europe/Berlin", 2024, 6, 10, 12), True),  # long outage
        (dt.date(2024, 6, 10), at("Europe/Berlin", 2024, 6, 10, 12), False),  # already sent
        (dt.date(2024, 6, 9), at("Europe/Berlin", 2024, 6, 10, 7), False),  # yesterday's done
        (dt.date(2024, 6, 11), at("Europe/Berlin", 2024, 6, 10, 12), False),  # moved west
        (dt.date(2024, 6, 9), at("Europe/Berlin", 2024, 6, 10, 23, 59), True),
        (dt.date(2024, 6, 10), at("Europe/Berlin", 2024, 6, 11, 0, 1), False),  # new day
    ],
)
def test_due_catch_up(last_sent: dt.date | None, now: dt.datetime, expected: bool) -> None:
    assert due_catch_up(last_sent, T(8), BERLIN, now) is expected


def test_due_catch_up_uses_the_subscribers_day() -> None:
    shanghai = Zone.from_name("Asia/Shanghai")
    now = utc(2024, 6, 30, 23, 30)  # 07:30 on 1 July in Shanghai
    assert due_catch_up(dt.date(2024, 6, 30), T(7), shanghai, now) is True
    assert due_catch_up(dt.date(2024, 7, 1), T(7), shanghai, now) is False
    assert due_catch_up(dt.date(2024, 6, 30), T(8), shanghai, now) is False


def test_due_catch_up_on_dst_gap_day_follows_next_send() -> None:
    gap_send = next_send(T(2, 30), BERLIN, utc(2024, 3, 30, 12))  # 03:30 CEST
    day = dt.date(2024, 3, 31)
    assert due_catch_up(dt.date(2024, 3, 30), T(2, 30), BERLIN, gap_send) is True
    before = gap_send - dt.timedelta(minutes=1)
    assert due_catch_up(dt.date(2024, 3, 30), T(2, 30), BERLIN, before) is False
    assert due_catch_up(day, T(2, 30), BERLIN, gap_send) is False


def test_due_catch_up_agrees_with_next_send() -> None:
    """A catch-up is due exactly when the most recent scheduled send is today and passed."""
    rng = random.Random(7)
    for key in ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"):
        z = Zone.from_name(key)
        for _ in range(200):
            now = utc(2024, 1, 1) + dt.timedelta(minutes=rng.randrange(366 * 24 * 60))
            t = T(rng.randrange(24), rng.randrange(60))
            today = local_day(now, z)
            yesterday = today - dt.timedelta(days=1)
            # the last send at or before now is the one next_send gives from a day back
            last = next_send(t, z, now - dt.timedelta(days=1, hours=2))
            while (following := next_send(t, z, last)) <= now:
                last = following
            expected = last <= now and local_day(last, z) == today
            assert due_catch_up(yesterday, t, z, now) is expected


def test_due_catch_up_rejects_naive_now() -> None:
    with pytest.raises(TypeError):
        due_catch_up(None, T(8), BERLIN, dt.datetime(2024, 6, 10, 12))
