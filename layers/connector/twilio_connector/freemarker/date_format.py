"""Dates: ISO 8601 and pattern parsing, and Java's SimpleDateFormat patterns and the
short/medium/long/full styles with month, day, era and zone names from CLDR as Java 17 has it
(:mod:`.locales`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from twilio_connector.freemarker.errors import FtlRuntimeError, Refused
from twilio_connector.freemarker.locales import STYLES, LocaleData, locale_data
from twilio_connector.freemarker.number_format import localize_digits
from twilio_connector.freemarker.values import DATE, DATETIME, TIME, UNKNOWN, FmDate

_LETTERS = re.compile(r"'([^']*)'|([A-Za-z])\2*")
_NUMBERS = "yYdHkKhmsSDuFwW"  # fields SimpleDateFormat writes with its NumberFormat


@lru_cache(maxsize=32)
def zone(name: str):  # noqa: ANN201 - a tzinfo
    import pytz

    try:
        return pytz.timezone(name)
    except pytz.UnknownTimeZoneError:
        raise FtlRuntimeError(f"unknown time zone {name!r}") from None


def check_zone(name: str) -> str:
    """A time zone name, or GMT for one Java does not know (as java.util.TimeZone does)."""
    try:
        zone(name)
    except FtlRuntimeError:
        return "GMT"
    return name


def local(value: FmDate, zone_name: str) -> datetime:
    return value.instant.astimezone(zone(zone_name))


# --- parsing -------------------------------------------------------------------------------------
def parse_iso(text: str, kind: str, zone_name: str) -> FmDate:
    try:
        if kind == DATE:
            day = date.fromisoformat(text)
            moment = zone(zone_name).localize(datetime(day.year, day.month, day.day))
        elif kind == TIME:
            clock = time.fromisoformat(text.replace("Z", "+00:00"))
            naive = datetime(1970, 1, 1, clock.hour, clock.minute, clock.second, clock.microsecond)
            if clock.tzinfo is not None:
                moment = naive.replace(tzinfo=clock.tzinfo)
            else:
                moment = zone(zone_name).localize(naive)
        else:
            if "T" not in text:
                raise ValueError(text)
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = zone(zone_name).localize(moment)
    except ValueError:
        raise FtlRuntimeError(f"the string {text!r} is not an ISO 8601 {kind}") from None
    return FmDate(moment.astimezone(UTC), kind)


_PARSE_FIELDS = {"y": "year", "M": "month", "d": "day", "H": "hour", "m": "minute", "s": "second"}


#: An ISO 8601 value and a pattern, per kind, for the hint of ``?date`` without a pattern.
_PATTERN_EXAMPLES = {
    "date": ("2024-05-01", "dd/MM/yyyy"),
    "time": ("15:45:00", "HH:mm"),
    "datetime": ("2024-05-01T15:45:00Z", "dd/MM/yyyy HH:mm"),
}


def parse_pattern(text: str, pattern: str, kind: str, zone_name: str) -> FmDate:
    if pattern in STYLES or pattern in ("iso", "xs"):
        if pattern in ("iso", "xs"):
            return parse_iso(text, kind, zone_name)
        example = _PATTERN_EXAMPLES.get(kind, _PATTERN_EXAMPLES["datetime"])
        raise Refused(
            f"parsing a date with the {pattern!r} style",
            hint=f'for an ISO 8601 string such as "{example[0]}" write ?{kind}.iso, or give '
            f'the string\'s pattern: ?{kind}("{example[1]}")',
        )
    regex, fields, pos = [], [], 0
    for match in _LETTERS.finditer(pattern):
        regex.append(re.escape(pattern[pos : match.start()]))
        pos = match.end()
        if match.group(1) is not None:
            regex.append(re.escape(match.group(1) or "'"))
            continue
        letter = match.group(2)
        if letter not in _PARSE_FIELDS or (letter == "M" and len(match.group()) > 2):
            raise Refused(f"parsing dates with the pattern letter {match.group()!r}")
        fields.append(_PARSE_FIELDS[letter])
        regex.append(r"(\d+)")
    regex.append(re.escape(pattern[pos:]))
    found = re.match("".join(regex), text)
    if not found:
        raise FtlRuntimeError(f"the string {text!r} does not match the date pattern {pattern!r}")
    parts = {"year": 1970, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
    for name, digits in zip(fields, found.groups(), strict=True):
        parts[name] = int(digits)
    try:
        moment = zone(zone_name).localize(datetime(**parts))
    except ValueError:
        raise FtlRuntimeError(f"the string {text!r} is not a valid date") from None
    return FmDate(moment.astimezone(UTC), kind)


# --- formatting ----------------------------------------------------------------------------------
def style_pattern(kind: str, style: str, locale: str, time_style: str | None = None) -> str:
    loc = locale_data(locale)
    if kind == DATE:
        return loc.field(f"date.{style}")
    if kind == TIME:
        return loc.field(f"time.{style}")
    return loc.field(f"datetime.{style}_{time_style or style}")


def format_date(value: FmDate, fmt: str, locale: str, zone_name: str) -> str:
    """A date by a FreeMarker date format (a style, ``iso``, or a SimpleDateFormat pattern)."""
    if value.kind == UNKNOWN:
        raise FtlRuntimeError("it is not known if the date is a date, a time or a date-time")
    if fmt in ("", "medium") or fmt in STYLES:
        return format_pattern(
            value, style_pattern(value.kind, fmt or "medium", locale), locale, zone_name
        )
    if "_" in fmt and all(part in STYLES for part in fmt.split("_")) and value.kind == DATETIME:
        date_style, time_style = fmt.split("_")
        return format_pattern(
            value, style_pattern(DATETIME, date_style, locale, time_style), locale, zone_name
        )
    if fmt.startswith("iso") or fmt.startswith("xs"):
        if fmt not in ("iso", "xs"):
            raise Refused(f"the date format {fmt!r}")
        return iso(value, zone_name, utc=False)
    return format_pattern(value, fmt, locale, zone_name)


def iso(value: FmDate, zone_name: str, utc: bool, millis: bool = True) -> str:
    moment = value.instant if utc else local(value, zone_name)
    day = moment.strftime("%Y-%m-%d")
    offset = moment.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        tz = "Z"
    else:
        minutes = int(offset.total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        tz = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    clock = moment.strftime("%H:%M:%S")
    if moment.microsecond and millis:
        clock += f".{moment.microsecond // 1000:03d}"
    if value.kind == DATE:
        return day
    if value.kind == TIME:
        return clock + tz
    return f"{day}T{clock}{tz}"


def format_pattern(value: FmDate, pattern: str, locale: str, zone_name: str) -> str:
    moment = local(value, zone_name)
    loc = locale_data(locale)
    matches = list(_LETTERS.finditer(pattern))
    fields = [match.group(2) for match in matches if match.group(1) is None]
    # As SimpleDateFormat: a month that is the pattern's only field takes its stand-alone form.
    standalone = fields == ["M"]
    out, pos = [], 0
    for match in matches:
        out.append(pattern[pos : match.start()])
        pos = match.end()
        if match.group(1) is not None:
            out.append(match.group(1) or "'")
            continue
        letter, count = "L" if standalone else match.group(2), len(match.group())
        text = _field(letter, count, moment, loc, zone_name)
        if letter in _NUMBERS or (letter in "ML" and count <= 2):  # in the locale's digits
            text = localize_digits(text, loc.field("zero"))
        out.append(text)
    out.append(pattern[pos:])
    return "".join(out)


def _num(value: int, count: int) -> str:
    return str(value).zfill(count)


def _field(letter: str, count: int, moment: datetime, loc: LocaleData, zone_name: str) -> str:
    if letter == "y":
        return _num(moment.year % 100, 2) if count == 2 else _num(moment.year, count)
    if letter in "ML":
        if count <= 2:
            return _num(moment.month, count)
        context = "format" if letter == "M" else "stand-alone"
        width = "abbreviated" if count == 3 else "wide"
        return loc.field(f"months.{context}.{width}")[moment.month - 1]
    if letter == "d":
        return _num(moment.day, count)
    if letter == "E":
        return loc.field("days.wide" if count >= 4 else "days.abbreviated")[moment.weekday()]
    if letter == "u":
        return _num(moment.isoweekday(), count)
    if letter == "a":
        return loc.field("ampm")[0 if moment.hour < 12 else 1]
    if letter == "H":
        return _num(moment.hour, count)
    if letter == "k":
        return _num(moment.hour or 24, count)
    if letter == "K":
        return _num(moment.hour % 12, count)
    if letter == "h":
        return _num(moment.hour % 12 or 12, count)
    if letter == "m":
        return _num(moment.minute, count)
    if letter == "s":
        return _num(moment.second, count)
    if letter == "S":
        return _num(moment.microsecond // 1000, count)
    if letter == "D":
        return _num(moment.timetuple().tm_yday, count)
    if letter == "G":
        return loc.field("eras")[1 if moment.year > 0 else 0]
    if letter in "ZX":
        offset = moment.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        if letter == "X" and minutes == 0:
            return "Z"
        sign = "+" if minutes >= 0 else "-"
        hours, mins = abs(minutes) // 60, abs(minutes) % 60
        if letter == "X" and count == 1:
            return f"{sign}{hours:02d}"
        if letter == "X" and count >= 3:
            return f"{sign}{hours:02d}:{mins:02d}"
        return f"{sign}{hours:02d}{mins:02d}"
    if letter == "z":
        return loc.zone_name(zone_name, moment, long=count >= 4)
    if letter in "GyYMLwWDdFEuaHkKhmsSzZX":
        raise Refused(f"the date pattern letter {letter!r}")
    raise FtlRuntimeError(f"illegal pattern character {letter!r}")


def now_value(millis: int | None) -> FmDate:
    if millis is None:
        return FmDate(datetime.now(UTC), DATETIME)
    return FmDate(datetime.fromtimestamp(millis / 1000, UTC), DATETIME)
