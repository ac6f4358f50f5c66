"""Phone numbers and sender IDs: parsing recipient lists and validating them before any send."""

from __future__ import annotations

import re
from typing import Any

from twilio_connector.errors import (
    INVALID_FROM_PHONE_NUMBER_ERROR,
    INVALID_INPUT,
    INVALID_TO_PHONE_NUMBER_ERROR,
)
from twilio_connector.redaction import mask_value

_SEPARATORS = re.compile(r"[,;\s]+")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CHANNELS = ("whatsapp:",)
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
#: What to do about a number without its country code, said with every refusal of a number.
COUNTRY_CODE_HINT = (
    "Write each number with + and its country code before the national number, without the "
    "national number's leading 0 (+1 for the US and Canada, +44 for the UK, +49 for Germany)."
)


def is_e164(number: str) -> bool:
    """E.164 and a possible length for its country (phonenumbers' metadata)."""
    if not _E164.match(number):
        return False
    import phonenumbers  # loaded on first validation, not at import

    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def is_address(value: str) -> bool:
    """A recipient: E.164, or a channel address such as ``whatsapp:+14155550100``."""
    for channel in _CHANNELS:
        if value.lower().startswith(channel):
            return is_e164(value[len(channel) :])
    return is_e164(value)


def parse_recipients(value: Any, field: str, limit: int) -> list[str]:
    """``smsTo`` as given (a list, or one string separated by commas, semicolons, whitespace or
    newlines) -> the distinct recipients in input order. Every one is validated."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise INVALID_INPUT(f"{field} must be a string or a list of strings", field=field)
    recipients: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise INVALID_INPUT(f"{field} must hold only strings", field=field)
        for part in _SEPARATORS.split(item):
            if part:
                recipients.setdefault(_normalise_channel(part), None)
    if not recipients:
        raise INVALID_INPUT(f"{field} holds no phone number", field=field)
    if len(recipients) > limit:
        raise INVALID_INPUT(f"{field} holds more than {limit} recipients", field=field)
    invalid = [
        {"index": index, "value": mask_value(number)}
        for index, number in enumerate(recipients)
        if not is_address(number)
    ]
    if invalid:
        raise INVALID_TO_PHONE_NUMBER_ERROR(
            f"{len(invalid)} recipient(s) are not E.164 numbers (+ and 7 to 15 digits) "
            f"or whatsapp:+ addresses; nothing was sent. {COUNTRY_CODE_HINT}",
            field=field,
            invalid=invalid,
        )
    return list(recipients)


def validate_sender(sender: str, field: str) -> str:
    """A sender: E.164, a channel address, a short code or an alphanumeric sender ID."""
    sender = _normalise_channel(sender)
    if is_address(sender) or _SHORT_CODE.match(sender) or _ALPHANUMERIC_SENDER.match(sender):
        return sender
    raise INVALID_FROM_PHONE_NUMBER_ERROR(
        f"{field} is not an E.164 number, whatsapp: address, short code or alphanumeric "
        f"sender ID (up to 11 letters and digits). {COUNTRY_CODE_HINT}",
        field=field,
        value=mask_value(sender),
    )


def _normalise_channel(address: str) -> str:
    prefix, colon, rest = address.partition(":")
    return f"{prefix.lower()}:{rest}" if colon else address
