"""Time logic for the daily-quote subscription, kept free of Telegram and of the clock.

Every function here but `utc_now` is pure: callers pass the current instant in, so the
scheduler, the catch-up after a restart and the tests all agree on what "today" and "next" mean.
Zones and daylight-saving rules come only from ``zoneinfo`` (backed by ``tzdata``); no
offset or DST rule is written by hand.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from bot.errors import QuotebotError

__all__ = [
    "DEFAULT_TIME",
    "ErrorCode",
    "ScheduleError",
    "Zone",
    "due_catch_up",
    "local_day",
    "next_send",
    "parse_subscribe_args",
    "parse_time",
    "parse_zone",
]

ErrorCode = Literal["bad_time", "bad_zone", "too_many_args"]

DEFAULT_TIME = dt.time(8, 0)

# Longer input cannot be valid; refusing it before any normalisation or regex keeps a
# pasted novel from costing more than a length check.
_MAX_TIME_LEN = 32
_MAX_ZONE_LEN = 64
# The offending value is echoed back to the user, so it is cut to something quotable.
_MAX_ERROR_VALUE_LEN = 40

_MIN_OFFSET = dt.timedelta(hours=-12)
_MAX_OFFSET = dt.timedelta(hours=14)

# Names in the zone database that are not places a person lives: "localtime" mirrors
# whatever machine the bot runs on and "Factory" is a placeholder with no real offset.
_EXCLUDED_ZONE_KEYS = frozenset({"localtime", "Factory", "posixrules"})

_UTC_ALIASES = frozenset({"UTC", "GMT", "UT", "Z"})

_CLOCK_RE = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?(?:\s*([ap])\.?m\.?)?", re.ASCII)
# Chinese/Japanese "8点", "8點30", "8时30分", "8点半"; a one-digit minute needs "分" to
# be unambiguous, just as "8:5" is refused.
_CJK_RE = re.compile(r"(\d{1,2})\s*[点點时時]\s*(?:(\d{2})\s*分?|(\d)\s*分|(半))?", re.ASCII)
_OFFSET_RE = re.compile(r"(?:(?:UTC|GMT|UT)\s*)?([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.ASCII)
_CANONICAL_OFFSET_RE = re.compile(r"UTC([+-])(\d{2}):(\d{2})", re.ASCII)


class ScheduleError(QuotebotError, ValueError):
    """A user typed something we cannot schedule.

    Carries a machine-readable ``code`` ("bad_time", "bad_zone", "too_many_args") and
    the offending ``value`` (shortened), so the bot can answer in the user's language
    with an example instead of showing an English exception message.
    """

    def __init__(self, code: ErrorCode, value: str) -> None:
        if len(value) > _MAX_ERROR_VALUE_LEN:
            value = value[: _MAX_ERROR_VALUE_LEN - 1] + "…"
        super().__init__(f"{code}: {value!r}")
        self.code: ErrorCode = code
        self.value: str = value


def _normalise(text: str) -> str:
    """Fold full-width digits, colons and signs (as typed on CJK keyboards) to ASCII."""
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()


def parse_time(text: str) -> dt.time:
    """Read the daily send time a user typed.

    Accepts "8:00", "08:00", "20:30", "20.30", a bare hour "8", "8am"/"8:30 pm",
    full-width "０８：００" and the CJK forms "8点", "8點30", "8时30分", "8点半".
    "8:5" is refused: it could mean 8:05 or 8:50, and guessing wrong sends quotes at
    the wrong time every day.
    """
    if len(text) > _MAX_TIME_LEN:
        raise ScheduleError("bad_time", text)
    s = _normalise(text).lower()
    hour: int
    minute: int
    if m := _CLOCK_RE.fullmatch(s):
        hour, minute = int(m[1]), int(m[2] or 0)
        if meridiem := m[3]:
            if not 1 <= hour <= 12:
                raise ScheduleError("bad_time", text)
            hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif m := _CJK_RE.fullmatch(s):
        hour = int(m[1])
        minute = 30 if m[4] else int(m[2] or m[3] or 0)
    else:
        raise ScheduleError("bad_time", text)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ScheduleError("bad_time", text)
    return dt.time(hour, minute)


@lru_cache(maxsize=1)
def _zone_keys() -> dict[str, str]:
    """Map lower-cased IANA keys to their real spelling.

    Only keys that exist in the database are ever handed to ``ZoneInfo``, which is what
    makes "../../etc/passwd" and similar strings impossible to load.
    """
    return {k.lower(): k for k in available_timezones() if k not in _EXCLUDED_ZONE_KEYS}


def _offset_name(offset: dt.timedelta) -> str:
    """Spell a fixed offset the one way it is stored, so equal offsets compare equal."""
    if not offset:
        return "UTC"
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(offset) // dt.timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _canonical_tzinfo(name: str) -> dt.tzinfo | None:
    """Resolve a stored name; only the exact canonical spelling is accepted."""
    if name == "UTC":
        return dt.UTC
    if m := _CANONICAL_OFFSET_RE.fullmatch(name):
        offset = dt.timedelta(hours=int(m[2]), minutes=int(m[3]))
        if m[1] == "-":
            offset = -offset
        if int(m[3]) < 60 and _MIN_OFFSET <= offset <= _MAX_OFFSET and offset:
            return dt.timezone(offset, name)
        return None
    if _zone_keys().get(name.lower()) == name:
        return ZoneInfo(name)
    return None


@dataclass(frozen=True, slots=True)
class Zone:
    """A subscriber's time zone, reduced to the one string the database stores.

    ``name`` is an IANA key ("Asia/Shanghai") or a fixed offset ("UTC+05:30", "UTC");
    construction validates it, so any ``Zone`` in hand is usable and equality is just
    name equality.
    """

    name: str
    tzinfo: dt.tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tz = _canonical_tzinfo(self.name)
        if tz is None:
            raise ScheduleError("bad_zone", self.name)
        object.__setattr__(self, "tzinfo", tz)

    @classmethod
    def from_name(cls, name: str) -> Zone:
        """Rebuild a zone from ``Zone.name`` as read back from the database."""
        return cls(name)

    def __str__(self) -> str:
        return self.name


def parse_zone(text: str) -> Zone:
    """Read a zone the way users type it, and return it in its stored spelling.

    Accepts IANA names in any case ("asia/shanghai", spaces for underscores),
    "UTC"/"GMT"/"Z", and offsets "UTC+8", "UTC+08:00", "UTC-3:30", "GMT+5", "+8",
    "+0530" within -12..+14. "GMT+5" means UTC+5 as users intend, not the inverted
    POSIX sign of the IANA key "Etc/GMT+5" (which is still accepted under that name).
    """
    if len(text) > _MAX_ZONE_LEN:
        raise ScheduleError("bad_zone", text)
    s = _normalise(text)
    upper = s.upper()
    if upper in _UTC_ALIASES:
        return Zone("UTC")
    if m := _OFFSET_RE.fullmatch(upper):
        hours, minutes = int(m[2]), int(m[3] or 0)
        offset = dt.timedelta(hours=hours, minutes=minutes)
        if m[1] == "-":
            offset = -offset
        if minutes >= 60 or not _MIN_OFFSET <= offset <= _MAX_OFFSET:
            raise ScheduleError("bad_zone", text)
        return Zone(_offset_name(offset))
    key = _zone_keys().get(s.replace(" ", "_").lower())
    if key is None:
        raise ScheduleError("bad_zone", text)
    return Zone(key)


def parse_subscribe_args(
    args: list[str], default_zone: Zone, default_time: dt.time = DEFAULT_TIME
) -> tuple[dt.time, Zone]:
    """Turn ``/subscribe`` arguments, in either order, into a (time, zone) pair.

    An argument that starts with a digit is a time and anything else a zone; the two
    forms never overlap (offsets need a sign or a UTC/GMT prefix), so this also decides
    which error the user sees when an argument is neither.
    """
    if len(args) > 2:
        raise ScheduleError("too_many_args", " ".join(args[2:]))
    when: dt.time | None = None
    zone: Zone | None = None
    for arg in args:
        head = _normalise(arg.lstrip()[:1])
        if head.isascii() and head.isdigit():
            if when is not None:
                raise ScheduleError("too_many_args", arg)
            when = parse_time(arg)
        else:
            if zone is not None:
                raise ScheduleError("too_many_args", arg)
            zone = parse_zone(arg)
    return (default_time if when is None else when), (default_zone if zone is None else zone)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _require_aware(value: dt.datetime, what: str) -> None:
    """Naive datetimes silently mean "the server's zone", which is exactly the bug to avoid."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"{what} must be timezone-aware, got naive {value!r}")


def local_day(instant: dt.datetime, zone: Zone) -> dt.date:
    """The subscriber's calendar day at ``instant``: the unit of "one quote per day"."""
    _require_aware(instant, "instant")
    return instant.astimezone(zone.tzinfo).date()


def _send_instant(day: dt.date, local_time: dt.time, zone: Zone) -> dt.datetime | None:
    """When ``day``'s quote is due, or None if ``day`` cannot have one.

    Wall times are read with fold=0: in a DST fold the first occurrence wins, and in a
    DST gap the time is read with the offset in force before the gap, which lands
    gap-length later (02:30 on a spring-forward day in Berlin is sent at 03:30).
    If that shift would push the send into the next local day (a gap straddling
    midnight) the post-gap reading (fold=1, earlier) is used instead; if neither reading
    falls on ``day`` (a day removed from the calendar, as in Pacific/Apia on
    2011-12-30) there is no send that day, which keeps "at most one per local day".
    """
    for fold in (0, 1):
        wall = dt.datetime.combine(day, local_time, tzinfo=zone.tzinfo).replace(fold=fold)
        instant = wall.astimezone(dt.UTC)
        if instant.astimezone(zone.tzinfo).date() == day:
            return instant
    return None


def next_send(local_time: dt.time, zone: Zone, after: dt.datetime) -> dt.datetime:
    """First instant strictly after ``after`` at which ``zone``'s wall clock reads ``local_time``.

    Returned as aware UTC so it can be stored and compared without zone context.
    Strictly-after is what makes feeding the result back in produce exactly one send per
    local day. DST gaps and folds follow the rules of ``_send_instant``: a time inside a
    spring-forward gap is sent gap-length later (fold=0 semantics), a time repeated in an
    autumn fold is sent once, at its first occurrence.
    """
    _require_aware(after, "after")
    if local_time.tzinfo is not None:
        raise TypeError("local_time must be a naive wall-clock time")
    day = local_day(after, zone)
    # A valid send for day d reads a wall time on day d, so it is never before `after`'s
    # day; at most a removed day and today's already-passed send are skipped.
    for _ in range(4):
        instant = _send_instant(day, local_time, zone)
        if instant is not None and instant > after:
            return instant
        day += dt.timedelta(days=1)
    raise AssertionError(f"no send time found after {after!r} in {zone.name}")  # pragma: no cover


def due_catch_up(
    last_sent_day: dt.date | None, local_time: dt.time, zone: Zone, now: dt.datetime
) -> bool:
    """Whether today's quote was missed, e.g. because the bot was down at the chat's time.

    True when today's (local) send time has passed and nothing was sent on this local
    day. ``last_sent_day`` is the ``local_day`` of the last send; None means never, so
    a chat subscribing after today's time would get one at once unless the caller seeds
    it with today. A ``last_sent_day`` after today (the chat moved west) counts as sent.
    """
    _require_aware(now, "now")
    today = local_day(now, zone)
    if last_sent_day is not None and last_sent_day >= today:
        return False
    due = _send_instant(today, local_time, zone)
    return due is not None and due <= now
