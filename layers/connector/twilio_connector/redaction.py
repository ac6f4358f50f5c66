"""What may reach a log: phone numbers masked, secrets never.

One policy for the whole layer. ``redact_text`` is applied by the logger's formatter to every
serialised log line, and to every message the connector builds from a Twilio answer (those end up
in the Lambda runtime's own error log line).
"""

from __future__ import annotations

import re
import threading

# Country calling codes of one digit (NANP, Russia/Kazakhstan) and of two digits; all others
# have three (ITU-T E.164 assignments).
_ONE_DIGIT = {"1", "7"}
_TWO_DIGITS = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
}  # fmt: skip

#: A phone number as it appears in text: ``+`` and 7 to 18 digits, separators allowed. Bare digit
#: runs are left alone: timestamps and metric values look like them.
_PHONE = re.compile(r"(?<![\w+])\+\d(?:[\s().-]?\d){6,17}(?!\w)")
#: A bare 32-hex-digit string: the shape of a Twilio auth token.
_HEX32 = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])")
_BASIC = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._-]{8,}")

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is replaced wherever it would be logged."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


#: Longer values are masked to their digits alone, so that no free text rides along.
_MAX_SHAPE = 32


def mask_phone(number: str) -> str:
    """Every digit hidden but the last two, and the country code when the number has a ``+``:
    ``+14155550100`` -> ``+1********00``, ``4155550100`` -> ``********00``,
    ``(415) 555-0100`` -> ``(***) ***-**00``. What the user wrote keeps its shape: no ``+`` or
    country code is added that the user did not write."""
    prefix, colon, address = number.rpartition(":")
    digits = "".join(ch for ch in address if ch.isdigit())
    if len(address) > _MAX_SHAPE:
        address = ("+" if address.lstrip().startswith("+") else "") + digits
    keep_front = 0
    if len(digits) >= 4 and address.lstrip().startswith("+"):
        keep_front = len(_country_code(digits))
    keep_back = 2 if len(digits) >= 4 else 0
    masked, seen = [], 0
    for ch in address:
        if ch.isdigit():
            kept = seen < keep_front or seen >= len(digits) - keep_back
            masked.append(ch if kept else "*")
            seen += 1
        else:
            masked.append(ch)
    return prefix + colon + "".join(masked)


def _country_code(digits: str) -> str:
    if digits[:1] in _ONE_DIGIT:
        return digits[:1]
    if digits[:2] in _TWO_DIGITS:
        return digits[:2]
    return digits[:3]


def mask_value(value: object) -> str:
    """A short, non-identifying rendering of an arbitrary (invalid) input value."""
    text = str(value)
    if sum(ch.isdigit() for ch in text) >= 4:
        return mask_phone(text)
    return text[:3] + "..." if len(text) > 6 else text


def redact_text(text: str) -> str:
    """Mask phone numbers, and remove registered secrets, tokens and auth headers, from text."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    text = _BASIC.sub(lambda m: f"{m.group(1)} ***", text)
    text = _HEX32.sub("***", text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
