"""Reading a Step Functions payload: aliases, types, and the catalogued input errors."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

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


def timestamp(event: dict[str, Any], name: str, zone_required: bool = False) -> datetime | None:
    """An ISO 8601 date-time; one without an offset is taken as UTC, or, ``zone_required``,
    refused (a moment to act at must not depend on a guess of its zone)."""
    value = text(event, name, limit=64)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise INVALID_INPUT(f"{name} must be an ISO 8601 date-time", field=name) from None
    if parsed.tzinfo is None and zone_required:
        raise INVALID_INPUT(
            f"{name} has no time zone: add its offset or Z (2026-03-01T09:00:00+01:00, "
            "2026-03-01T08:00:00Z)",
            field=name,
        )
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


# --- the fields of an event ----------------------------------------------------------------------
#: Unknown field names listed in a result (and the WARNING), and how much of each name.
MAX_IGNORED_LISTED = 100
MAX_NAME_SHOWN = 64
#: Fields every action knows: ``dryRun`` is honoured by SEND_SMS; elsewhere ``dryRun: true``
#: is refused rather than ignored (an ignored dry run would really call, cancel or check).
COMMON_FIELDS = ("dryRun",)


class Fields(NamedTuple):
    """An action's input fields: every name it reads, and the alias groups (one input under
    several names: Alfresco's and Bizagi's)."""

    known: frozenset[str]
    aliases: tuple[tuple[str, ...], ...] = ()
    dry_run: bool = False  # whether the action honours dryRun


def fields(*names: str, aliases: tuple[tuple[str, ...], ...] = (), dry_run: bool = False) -> Fields:
    every = {*names, *COMMON_FIELDS, *(name for group in aliases for name in group)}
    return Fields(frozenset(every), aliases, dry_run)


def check_fields(event: object, spec: Fields) -> list[str]:
    """The event's field names that are not ``spec``'s, sorted (the caller lists them as
    ``ignoredFields``). A name near a known one (another case or separator, or a typo: an edit
    distance of 1 or 2 depending on the name's length) is ``INVALID_INPUT`` with a did-you-mean;
    so are two aliases of one input with different values, and ``dryRun: true`` where the action
    cannot do a dry run. Not an object: nothing here (the action refuses it)."""
    if not isinstance(event, dict):
        return []
    ignored = []
    for key in event:
        if key in spec.known:
            continue
        name = _shown(key)
        near = _nearest(str(key), spec.known)
        if near is not None:
            raise INVALID_INPUT(
                f"{name} is not an input of this action: did you mean {near}?",
                field=name,
                didYouMean=near,
            )
        ignored.append(name)
    for group in spec.aliases:
        given = [(name, event[name]) for name in group if event.get(name) not in (None, "")]
        for other, value in given[1:]:
            if value != given[0][1]:
                raise INVALID_INPUT(
                    f"{given[0][0]} and {other} are one input under two names, with different "
                    "values: give one of them",
                    field=given[0][0],
                    conflictsWith=other,
                )
    if not spec.dry_run and flag(event, "dryRun", default=False):
        raise INVALID_INPUT(
            "dryRun is supported by SEND_SMS only; nothing was done", field="dryRun"
        )
    return sorted(ignored)


def _shown(key: object) -> str:
    name = str(key)
    return name if len(name) <= MAX_NAME_SHOWN else name[: MAX_NAME_SHOWN - 1] + "…"


def _normal(name: str) -> str:
    return re.sub(r"[\s_.-]", "", name).lower()


def _nearest(key: str, known: frozenset[str]) -> str | None:
    """The known name ``key`` was probably meant to be, if any: equal but for case and
    separators (``smsbody``, ``idempotency_key``), or within 2 edits of a name of 7 or more
    characters, 1 edit of 4 to 6 (``form`` for ``from``). Names of 2-3 characters (``to``,
    ``sid``) only by case and separators: ``id`` or ``day`` are other fields, not typos."""
    normal = _normal(key)
    letters = set(normal)
    best: tuple[int, str] | None = None
    for name, target, allowed, target_letters in _targets(known):
        # cheap bounds first (each edit changes the length by at most one, and brings in or
        # takes away at most one letter), so that 40,000 fields are checked in a fraction
        # of a second; the distance itself only for names that pass them
        if (
            abs(len(target) - len(normal)) > allowed
            or len(letters - target_letters) > allowed
            or len(target_letters - letters) > allowed
        ):
            continue
        distance = _edits(normal, target, allowed)
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best else None


@functools.lru_cache(maxsize=32)
def _targets(known: frozenset[str]) -> list[tuple[str, str, int, frozenset[str]]]:
    """Each known name, normalised, with the edits allowed to reach it, and its letters."""
    targets = []
    for name in sorted(known):
        target = _normal(name)
        allowed = 2 if len(target) >= 7 else 1 if len(target) >= 4 else 0
        targets.append((name, target, allowed, frozenset(target)))
    return targets


def _edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, with a swap of two neighbouring letters as one edit; any
    distance over ``limit`` is ``limit + 1`` (the rows stop once every cell is over it)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        if min(row) > limit and (i < 2 or min(rows[-1]) > limit):  # a swap reaches back one row
            return limit + 1
        rows.append(row)
    return min(rows[-1][-1], limit + 1)
