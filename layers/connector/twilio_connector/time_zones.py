"""A recipient's time zones, from their number's prefix (the campaign's quiet hours)."""

from __future__ import annotations

from functools import cache

from twilio_connector.time_zone_table import LONGEST_PREFIX, PREFIXES, ZONE_SETS


@cache
def zones_of(number: str) -> tuple[str, ...]:
    """The IANA zones of ``number`` (E.164, or ``whatsapp:`` + E.164) as phonenumbers lists them
    for its longest known prefix; ``()`` when none is known (then no quiet hours apply)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    for length in range(min(LONGEST_PREFIX, len(digits)), 0, -1):
        found = PREFIXES.get(digits[:length])
        if found is not None:
            return tuple(ZONE_SETS[found].split("&"))
    return ()
