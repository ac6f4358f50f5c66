"""LOOKUP_PHONE: is a number valid, in which country, and (``lineType: true``) what kind of line
it is (mobile, landline, VoIP, ...), through Twilio Lookup v2.

A number is read as everywhere in the connector (as people write it, national numbers in
``defaultPhoneRegion`` / ``DEFAULT_PHONE_REGION``). One that cannot be a number of its country
(too short, too long, an unknown country code) is still looked up, as its digits, so that Twilio
answers ``valid: false`` with its reasons (``validationErrors``): an invalid number is a result,
not an error. Text that is not written like a phone number at all is ``INVALID_INPUT``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector import inputs
from twilio_connector.config import get_settings
from twilio_connector.errors import INVALID_INPUT
from twilio_connector.observability import logger, metrics
from twilio_connector.phone import (
    COUNTRY_CODE_HINT,
    EXTENSION_HINT,
    REGION_FIELD,
    number_hint,
    phone_region,
    to_e164,
)
from twilio_connector.redaction import mask_phone
from twilio_connector.twilio_api import call_twilio, get_client

#: A number as written: an optional + (or 00 / 011), digits, and formatting characters.
_WRITTEN = re.compile(r"\+?[0-9\s().-]{1,40}")  # ASCII digits: they go into the URL's path
_IDD = re.compile(r"^(00|011)(?=[1-9])")
#: Lookup v2's data package for the line type.
LINE_TYPE_FIELD = "line_type_intelligence"


#: LOOKUP_PHONE's input fields.
LOOKUP_FIELDS = inputs.fields("lineType", REGION_FIELD, aliases=(("phone", "phoneNumber"),))


class LookupRequest(NamedTuple):
    number: str  # E.164, or +digits / national digits that cannot be a number (Twilio decides)
    country_code: str | None = None  # the region of national digits (Lookup's CountryCode)
    line_type: bool = False

    @classmethod
    def from_event(cls, event: object) -> LookupRequest:
        """``phone`` (alias ``phoneNumber``), ``lineType`` (default false),
        ``defaultPhoneRegion``."""
        event = inputs.as_event(event)
        written = inputs.text(event, "phone", "phoneNumber", required=True, limit=64)
        assert written is not None
        line_type = inputs.flag(event, "lineType", default=False)
        region = phone_region(event, get_settings().default_phone_region)
        number = to_e164(written, region)
        if number is not None:
            return cls(number=number, line_type=line_type)
        if not _WRITTEN.fullmatch(written) or not re.search(r"[0-9]", written):
            raise INVALID_INPUT(
                "phone must be a phone number: digits, with + and the country code or in "
                f"defaultPhoneRegion's national format{_extension_hint(written)}",
                field="phone",
            )
        digits = re.sub(r"[^0-9]", "", written)
        if written.startswith("+"):
            return cls(number="+" + digits, line_type=line_type)
        if _IDD.match(digits) and region is None:
            return cls(number=_IDD.sub("+", digits), line_type=line_type)
        if region is None:
            raise INVALID_INPUT(
                f"phone has no country code and no defaultPhoneRegion. {COUNTRY_CODE_HINT}",
                field="phone",
            )
        return cls(number=digits, country_code=region, line_type=line_type)


def _extension_hint(written: str) -> str:
    hint = number_hint(written)
    return f". {EXTENSION_HINT}" if hint.startswith(EXTENSION_HINT) else ""


def lookup_phone(request: LookupRequest) -> dict[str, Any]:
    """``{"phoneNumber", "valid", "countryCode", "callingCountryCode", "nationalFormat",
    "validationErrors", "lineType", "carrierName"}``; ``lineType`` and ``carrierName`` are null
    unless ``lineType`` was asked for (and Twilio knew them)."""
    params: dict[str, Any] = {}
    if request.line_type:
        params["fields"] = LINE_TYPE_FIELD
    if request.country_code:
        params["country_code"] = request.country_code
    resource = get_client().lookups.v2.phone_numbers(request.number)
    found = call_twilio(lambda: resource.fetch(**params), changes_state=False)
    line = found.line_type_intelligence if isinstance(found.line_type_intelligence, dict) else {}
    result = {
        "phoneNumber": found.phone_number,
        "valid": bool(found.valid),
        "countryCode": found.country_code,
        "callingCountryCode": found.calling_country_code,
        "nationalFormat": found.national_format,
        "validationErrors": list(found.validation_errors or []),
        "lineType": line.get("type"),
        "carrierName": line.get("carrier_name"),
    }
    metrics.add_metric(name="PhoneLookups", unit=MetricUnit.Count, value=1)
    logger.info(
        "Phone number looked up",
        extra={
            "phone": mask_phone(request.number),
            "valid": result["valid"],
            "lineType": result["lineType"],
        },
    )
    return result
