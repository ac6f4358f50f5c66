"""Reading a Step Functions payload: aliases, types, and the catalogued input errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from twilio_connector.errors import INVALID_INPUT, MISSING_INPUT

#: An ISO 8601 duration in weeks, days, hours, minutes and seconds, with an optional sign
#: (``-P1D``, ``-PT24H``, ``PT90M``); years and months are refused (their length varies).
_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?!$)(?:(?P<weeks>\d{1,4})W)?(?:(?P<days>\d{1,5})D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d{1,6})H)?(?:(?P<minutes>\d{1,8})M)?(?:(?P<seconds>\d{1,9})S)?)?$"
)
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def as_event(event: object) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise INVALID_INPUT("The input must be a JSON object")
    return event


def pick(event: dict[str, Any], *names: str) -> tuple[str, Any]:
    """The first of ``names`` present with a non-null value: (name, value), or (names[0], None)."""
    for name in names:
        value = event.get(name)
        if value is not None and value != "":
            return name, value
    return names[0], None


def text(
    event: dict[str, Any], *names: str, required: bool = False, limit: int = 2048
) -> str | None:
    name, value = pick(event, *names)
    if value is None:
        if required:
            raise MISSING_INPUT(f"{_names(names)} is required", field=names[0])
        return None
    if not isinstance(value, str):
        raise INVALID_INPUT(f"{name} must be a string", field=name)
    if not is_text(value):
        raise INVALID_INPUT(f"{name} holds characters that are not text", field=name)
    value = value.strip()
    if len(value) > limit:
        raise INVALID_INPUT(f"{name} is over {limit} characters", field=name)
    if not value and required:
        raise MISSING_INPUT(f"{_names(names)} is required", field=names[0])
    return value or None


def is_text(value: str) -> bool:
    """No NUL and no unpaired surrogate: what can be sent as UTF-8 to Twilio."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def flag(event: dict[str, Any], name: str, default: bool) -> bool:
    """A boolean, also accepted as the strings "true"/"false" (BPMN engines pass strings)."""
    value = event.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise INVALID_INPUT(f"{name} must be true or false", field=name)


def integer(event: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = event.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise INVALID_INPUT(f"{name} must be a whole number from {low} to {high}", field=name)
    return value


def url(event: dict[str, Any], name: str) -> str | None:
    value = text(event, name)
    if value is not None and not _URL.match(value):
        raise INVALID_INPUT(f"{name} must be an http(s) URL", field=name)
    return value


def url_list(event: dict[str, Any], name: str, limit: int) -> list[str]:
    value = event.get(name)
    if value is None or value == "" or value == []:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise INVALID_INPUT(f"{name} must be a URL or a list of URLs", field=name)
    if len(items) > limit:
        raise INVALID_INPUT(f"{name} holds more than {limit} URLs", field=name)
    urls = [item.strip() for item in items]
    if not all(_URL.match(item) and len(item) <= 2048 for item in urls):
        raise INVALID_INPUT(f"{name} must hold http(s) URLs", field=name)
    return urls


def timestamp(event: dict[str, Any], name: str) -> datetime | None:
    """An ISO 8601 date-time; one without an offset is taken as UTC."""
    value = text(event, name, limit=64)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise INVALID_INPUT(f"{name} must be an ISO 8601 date-time", field=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def duration(event: dict[str, Any], name: str) -> timedelta | None:
    """An ISO 8601 duration such as ``-P1D`` or ``-PT24H`` (weeks to seconds, signed)."""
    value = text(event, name, limit=64)
    if value is None:
        return None
    found = _DURATION.match(value.upper())
    if found is None:
        raise INVALID_INPUT(
            f"{name} must be an ISO 8601 duration in days, hours, minutes or seconds, "
            "such as -P1D or -PT24H",
            field=name,
        )
    parts = {k: int(v) for k, v in found.groupdict().items() if k != "sign" and v}
    delta = timedelta(**parts)
    return -delta if found.group("sign") == "-" else delta


def _names(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} (or {', '.join(names[1:])})"
