"""Phone numbers as people write them: recipient lists, senders and callees parsed into E.164.

Numbers are parsed with phonenumbers: formatting (spaces, dashes, dots, parentheses), the ``00``
and ``011`` international prefixes, and national numbers when a default region is known
(``DEFAULT_PHONE_REGION``, or ``defaultPhoneRegion`` in the event). A number that does not parse,
or whose length is not possible for its country, is refused before anything is sent.
"""

from __future__ import annotations

import re
from typing import Any

from twilio_connector.errors import (
    INVALID_FROM_PHONE_NUMBER_ERROR,
    INVALID_INPUT,
    INVALID_TO_PHONE_NUMBER_ERROR,
)
from twilio_connector.redaction import mask_value

#: What separates the numbers of one ``smsTo`` string (not spaces: "+1 415 555 0100" is one).
_SEPARATORS = re.compile(r"[,;\r\n]+")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
#: A number as written: an optional leading +, digits, and formatting characters.
_WRITTEN = re.compile(r"^\+?[\d\s().-]{1,40}$")
#: International prefixes a number written without a + may start with (ITU's 00, NANP's 011).
_IDD = re.compile(r"^(00|011)(?=[1-9])")
_CHANNELS = ("whatsapp:",)
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
REGION_FIELD = "defaultPhoneRegion"
#: What to do about a number without its country code, said with every refusal of a number.
COUNTRY_CODE_HINT = (
    "Write each number with + and its country code before the national number, without the "
    "national number's leading 0 (+1 for the US and Canada, +44 for the UK, +49 for Germany), "
    "or set DEFAULT_PHONE_REGION (or the event's defaultPhoneRegion) to the country of "
    "national numbers such as (415) 555-0100."
)

#: An extension written after a number: "ext. 12", "extension 12", "x12", "#12", ";ext=12".
_EXTENSION = re.compile(
    r"(?i)\d[\s().-]*(?:;\s*ext\s*=|,?\s*(?:ext|extn|extension)\.?|x|#)\s*\d{1,7}\s*$"
)
EXTENSION_HINT = (
    "A number with an extension (ext. 12) cannot receive an SMS or a direct call: give the "
    "number without its extension."
)


def number_hint(*written: str) -> str:
    """What to do about numbers refused for their form: drop an extension, or add the country
    code (the hint for both when both kinds are among them)."""
    extensions = [bool(_EXTENSION.search(item)) for item in written]
    if extensions and all(extensions):
        return EXTENSION_HINT
    return f"{EXTENSION_HINT} {COUNTRY_CODE_HINT}" if any(extensions) else COUNTRY_CODE_HINT


def phone_region(event: dict[str, Any], default: str | None) -> str | None:
    """The region national numbers are read in: the event's ``defaultPhoneRegion``, else
    ``default`` (``DEFAULT_PHONE_REGION``); an ISO 3166 alpha-2 code phonenumbers knows."""
    value = event.get(REGION_FIELD)
    field = REGION_FIELD
    if value is None or value == "":
        value, field = default, "DEFAULT_PHONE_REGION"
    if value is None or value == "":
        return None
    from twilio_connector.phone_table import SUPPORTED_REGIONS

    region = value.strip().upper() if isinstance(value, str) else None
    if region not in SUPPORTED_REGIONS:
        raise INVALID_INPUT(
            f"{field} must be an ISO 3166 alpha-2 country code such as US or GB", field=field
        )
    return region


def to_e164(written: str, region: str | None = None) -> str | None:
    """``written`` as an E.164 number, or None when it is not a possible phone number."""
    written = written.strip()
    if _E164.match(written) and _taken_as_written(written):
        return written
    if not _WRITTEN.match(written):
        return None
    import phonenumbers  # loaded on first use, not at import

    candidates = [written]
    digits = re.sub(r"[\s().-]", "", written)
    if _IDD.match(digits):  # 0044..., 011 44...: the region's own IDD is tried first
        candidates.append(_IDD.sub("+", digits))
    for candidate in candidates if region else candidates[::-1]:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        # IS_POSSIBLE only: a number possible for local dialling alone cannot be reached in E.164
        possible = phonenumbers.is_possible_number_with_reason(number)
        if number.extension or possible != phonenumbers.ValidationResult.IS_POSSIBLE:
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if _E164.match(e164):
            return e164
    return None


def _taken_as_written(e164: str) -> bool:
    """Whether phonenumbers would return this E.164 number unchanged, as a possible number: its
    country calling code's national prefix does not start the national number (nothing to strip)
    and its length is one phonenumbers calls possible. Read from a table generated from
    phonenumbers' metadata (``make phone-table``), so that the numbers most events carry are
    checked without importing phonenumbers: its import was a third of the cold start's cost
    beyond the floor (``make bench``). False sends the number through phonenumbers."""
    from twilio_connector.phone_table import CALLING_CODES

    digits = e164[1:]
    for size in (1, 2, 3):  # calling codes are prefix-free: the first one found is the one
        known = CALLING_CODES.get(int(digits[:size]))
        if known is not None:
            lengths, national_prefix = known
            national = digits[size:]
            return len(national) in lengths and not (
                national_prefix and re.match(national_prefix, national)
            )
    return False


def to_address(written: str, region: str | None = None) -> str | None:
    """A recipient: a number (see ``to_e164``), or a channel address such as
    ``whatsapp:+14155550100`` (prefix kept, lower-cased; the number normalised)."""
    channel, number = _split_channel(written.strip())
    e164 = to_e164(number, region)
    return channel + e164 if e164 else None


def parse_recipients(value: Any, field: str, limit: int, region: str | None = None) -> list[str]:
    """``smsTo`` as given (a list, or one string of numbers separated by commas, semicolons or
    line breaks) -> the distinct recipients in E.164, in input order. Every one is checked."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise INVALID_INPUT(f"{field} must be a string or a list of strings", field=field)
    written: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise INVALID_INPUT(f"{field} must hold only strings", field=field)
        written += [part.strip() for part in _SEPARATORS.split(item) if part.strip()]
    if not written:
        raise INVALID_INPUT(f"{field} holds no phone number", field=field)
    recipients: dict[str, None] = {}
    invalid = []
    refused = []
    for index, part in enumerate(written):
        address = to_address(part, region)
        if address is None:
            invalid.append({"index": index, "value": mask_value(part)})
            refused.append(part)
        else:
            recipients.setdefault(address, None)
    if invalid:
        raise INVALID_TO_PHONE_NUMBER_ERROR(
            f"{len(invalid)} recipient(s) are not phone numbers or whatsapp: addresses "
            "(separate numbers with commas, semicolons or line breaks); nothing was sent. "
            f"{number_hint(*refused)}",
            field=field,
            invalid=invalid,
        )
    if len(recipients) > limit:
        raise INVALID_INPUT(f"{field} holds more than {limit} recipients", field=field)
    return list(recipients)


def validate_sender(sender: str, field: str, region: str | None = None) -> str:
    """A sender: a number (in E.164), a channel address, a short code or an alphanumeric
    sender ID."""
    sender = sender.strip()
    channel, _ = _split_channel(sender)
    if not channel and (_SHORT_CODE.match(sender) or _ALPHANUMERIC_SENDER.match(sender)):
        return sender
    address = to_address(sender, region)
    if address is not None:
        return address
    raise INVALID_FROM_PHONE_NUMBER_ERROR(
        f"{field} is not a phone number, whatsapp: address, short code or alphanumeric "
        f"sender ID (up to 11 letters and digits). {number_hint(sender)}",
        field=field,
        value=mask_value(sender),
    )


def _split_channel(address: str) -> tuple[str, str]:
    """(``"whatsapp:"`` or ``""``, the rest)."""
    for channel in _CHANNELS:
        if address[: len(channel)].lower() == channel:
            return channel, address[len(channel) :].strip()
    return "", address
