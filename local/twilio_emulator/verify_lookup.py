"""Twilio Verify v2 and Lookup v2 in the emulator (not product code).

Twilio serves them from their own hosts (``verify.twilio.com``, ``lookups.twilio.com``); the
connector sends every host to ``TWILIO_API_URL``, and their paths do not overlap with the
2010-04-01 API's, so the emulator answers them beside the Messages resource.

Verify (https://www.twilio.com/docs/verify/api/verification and .../verification-check):

- ``POST /v2/Services/{VA}/Verifications`` (``To``, ``Channel``: sms, call, whatsapp, email;
  ``Locale``, ``CustomFriendlyName``) starts a verification with a code of the Service's length
  (6 digits), or sends the pending verification's code again (same SID) when one is pending for
  ``To``; a sixth send is 429 / 60203. An invalid number or channel is 400 / 60200; an SMS to a
  landline (the Lookup ranges below) is 403 / 60205.
- The code is delivered: an SMS (``whatsapp:`` for WhatsApp) in the emulator's outbox
  (``emulator.messages``, ``GET /__emulator/messages``), from ``VERIFY_SENDER``; every delivery,
  calls and e-mails included, is in ``emulator.verify_lookup.deliveries``, and
  ``emulator.verify_lookup.code_for(to)`` reads the pending code.
- ``POST /v2/Services/{VA}/VerificationCheck`` (``To`` or ``VerificationSid``, ``Code``): the
  right code approves (``status: approved``, ``valid: true``), a wrong one answers ``pending``,
  ``valid: false``. Five checks are allowed: the sixth is 429 / 60202 (``max_attempts_reached``).
  No pending verification (never started, approved, canceled, or expired ten minutes after it
  started, on the emulator's clock: ``advance()``) is 404 / 20404.
- ``GET`` / ``POST`` (``Status=canceled|approved``) ``/v2/Services/{VA}/Verifications/{VE}``;
  once approved, canceled or expired a verification is gone for the API (Twilio's soft delete:
  20404), so a check retried after its approving answer was lost finds nothing.

Lookup (https://www.twilio.com/docs/lookup/v2-api): ``GET /v2/PhoneNumbers/{number}`` with
``CountryCode`` (for national numbers; +1 by default, as Twilio) and ``Fields``. Validity is
libphonenumber's (Twilio's own source), answered as Twilio does: an invalid number is 200 with
``valid: false`` and ``validation_errors`` (TOO_SHORT, TOO_LONG, INVALID_BUT_POSSIBLE,
INVALID_COUNTRY_CODE, INVALID_LENGTH, NOT_A_NUMBER). ``Fields=line_type_intelligence`` gives the
line type by number range: libphonenumber's type where it tells one (mobile, landline, tollFree,
premium, ...); where it cannot (fixed line or mobile, as every NANP number), the last digit
decides: 0-5 ``mobile``, 6-7 ``landline``, 8 ``nonFixedVoip``, 9 ``fixedVoip``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

from local.twilio_emulator.server import TEST_ACCOUNT_SID, TwilioApiError

V2 = "/v2/"
#: The Verify Service every emulator starts with (offline secret's TWILIO_VERIFY_SERVICE_SID).
DEFAULT_VERIFY_SERVICE_SID = "VA" + "0" * 30 + "01"
#: The sender of the codes Verify delivers by SMS.
VERIFY_SENDER = "Verify"
VERIFICATION_TTL = timedelta(minutes=10)
MAX_CHECK_ATTEMPTS = 5
MAX_SEND_ATTEMPTS = 5
CHANNELS = ("sms", "call", "whatsapp", "email")
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_SERVICE = r"/v2/Services/(?P<service>[^/]+)"
_VERIFICATIONS = re.compile(rf"^{_SERVICE}/Verifications$")
_VERIFICATION = re.compile(rf"^{_SERVICE}/Verifications/(?P<sid>[^/]+)$")
_CHECK = re.compile(rf"^{_SERVICE}/VerificationCheck$")
_PHONE_NUMBER = re.compile(r"^/v2/PhoneNumbers/(?P<number>[^/]+)$")
#: libphonenumber's PhoneNumberType -> Lookup's line_type_intelligence.type.
_LINE_TYPES = {
    0: "landline",  # FIXED_LINE
    1: "mobile",
    3: "tollFree",
    4: "premium",
    5: "sharedCost",
    6: "nonFixedVoip",  # VOIP
    7: "personal",
    8: "pager",
    9: "uan",
    10: "voicemail",
    99: "unknown",
}
_BY_LAST_DIGIT = "mmmmmmllnf"  # FIXED_LINE_OR_MOBILE: the last digit decides
_LAST_DIGIT_TYPES = {"m": "mobile", "l": "landline", "n": "nonFixedVoip", "f": "fixedVoip"}
_CARRIERS = {
    "mobile": ("Emulated Mobile", "310", "260"),
    "landline": ("Emulated Landline", None, None),
    "fixedVoip": ("Emulated VoIP", None, None),
    "nonFixedVoip": ("Emulated VoIP", None, None),
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Verification:
    sid: str
    service_sid: str
    account_sid: str
    to: str
    channel: str
    code: str
    created: datetime
    updated: datetime
    status: str = "pending"  # pending, approved, canceled, max_attempts_reached, expired
    checks: int = 0
    sends: list[dict[str, Any]] = field(default_factory=list)

    def _fields(self) -> dict[str, Any]:
        """What the Verification and VerificationCheck resources share."""
        return {
            "sid": self.sid,
            "service_sid": self.service_sid,
            "account_sid": self.account_sid,
            "to": self.to,
            "channel": self.channel,
            "status": self.status,
            "valid": self.status == "approved",
        }

    def resource(self) -> dict[str, Any]:
        """The Verification resource, as Verify v2 answers it."""
        return {
            **self._fields(),
            "lookup": {},
            "amount": None,
            "payee": None,
            "send_code_attempts": self.sends,
            "date_created": iso(self.created),
            "date_updated": iso(self.updated),
            "sna": None,
            "url": f"https://verify.twilio.com/v2/Services/{self.service_sid}"
            f"/Verifications/{self.sid}",
        }

    def check_resource(self) -> dict[str, Any]:
        """The VerificationCheck resource."""
        return {
            **self._fields(),
            "amount": None,
            "payee": None,
            "sna_attempts_error_codes": [],
            "date_created": iso(self.created),
            "date_updated": iso(self.updated),
        }


class VerifyLookup:
    """The Verify and Lookup state of one emulator (``emulator.verify_lookup``)."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self._lock = threading.Lock()
        self.services: dict[str, dict[str, Any]] = {}
        self.verifications: dict[str, Verification] = {}
        self.deliveries: list[dict[str, str]] = []  # every code delivered: channel, to, body
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.services = {
                DEFAULT_VERIFY_SERVICE_SID: {
                    "account_sid": TEST_ACCOUNT_SID,
                    "friendly_name": "Acme",
                    "code_length": 6,
                }
            }
            self.verifications.clear()
            self.deliveries.clear()

    def seed(
        self, to: str, code: str, channel: str = "sms", service: str = DEFAULT_VERIFY_SERVICE_SID
    ) -> Verification:
        """A verification pending for ``to`` with a known ``code`` (sample events, demos), as if
        the code had just been sent."""
        now = self.emulator.now()
        verification = Verification(
            sid="VE" + uuid.uuid4().hex,
            service_sid=service,
            account_sid=self.services[service]["account_sid"],
            to=to,
            channel=channel,
            code=code,
            created=now,
            updated=now,
            sends=[{"attempt_sid": "VL" + uuid.uuid4().hex, "channel": channel, "time": iso(now)}],
        )
        with self._lock:
            self.verifications[verification.sid] = verification
        return verification

    def code_for(self, to: str) -> str | None:
        """The code of the verification pending for ``to`` (what the person received)."""
        current = self._current(None, to)
        return current.code if current else None

    # --- routing -------------------------------------------------------------------------------
    def route(
        self, method: str, path: str, query: str, raw: bytes, authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(authorization)
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        if (found := _PHONE_NUMBER.match(path)) and method == "GET":
            return 200, self.lookup(unquote(found.group("number")), parse_qs(query))
        if (found := _VERIFICATIONS.match(path)) and method == "POST":
            return 201, self.start(account, self._service(account, found, path), form)
        if (found := _CHECK.match(path)) and method == "POST":
            return 200, self.check(account, self._service(account, found, path), form, path)
        if found := _VERIFICATION.match(path):
            service = self._service(account, found, path)
            verification = self.verifications.get(found.group("sid"))
            if (
                verification is None
                or verification.service_sid != service
                or self._expire(verification).status not in ("pending", "max_attempts_reached")
            ):  # Twilio soft-deletes a verification once approved, canceled or expired (20404)
                raise _not_found(path)
            if method == "GET":
                return 200, verification.resource()
            return 200, self.update(verification, form)
        raise _not_found(path)

    def _authenticate(self, header: str | None) -> str:
        """The account of the credentials (Account SID and token, or an API key)."""
        user = ""
        if header and header.startswith("Basic "):
            try:
                user = base64.b64decode(header[6:]).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                user = ""
        key = self.emulator.api_keys.get(user)
        account = key[1] if key else user
        self.emulator.authenticate(header, account)
        return account

    def _service(self, account: str, found: re.Match, path: str) -> str:
        sid = found.group("service")
        service = self.services.get(sid)
        if service is None or service["account_sid"] != account:
            raise _not_found(path)
        return sid

    # --- Verify --------------------------------------------------------------------------------
    def _current(self, service: str | None, to: str) -> Verification | None:
        """The verification of ``to`` still open (pending, or closed by too many checks) and not
        expired."""
        with self._lock:
            candidates = [
                v
                for v in self.verifications.values()
                if v.to == to and (service is None or v.service_sid == service)
            ]
        for verification in reversed(candidates):
            self._expire(verification)
            if verification.status in ("pending", "max_attempts_reached"):
                return verification
        return None

    def _expire(self, verification: Verification) -> Verification:
        now = self.emulator.now()
        if verification.status == "pending" and now >= verification.created + VERIFICATION_TTL:
            verification.status, verification.updated = "expired", now
        if (
            verification.status == "max_attempts_reached"
            and now >= verification.created + VERIFICATION_TTL
        ):
            verification.status, verification.updated = "expired", now
        return verification

    def start(self, account: str, service: str, form: dict[str, list[str]]) -> dict[str, Any]:
        to, channel = _one(form, "To"), _one(form, "Channel")
        if channel not in CHANNELS:
            raise TwilioApiError(400, 60200, "Invalid parameter: Channel")
        if channel == "email":
            if not _EMAIL.match(to):
                raise TwilioApiError(400, 60200, "Invalid parameter `To`")
        else:
            if not _is_valid(to):
                raise TwilioApiError(400, 60200, f"Invalid parameter `To`: {to}")
            if channel == "sms" and line_type(to) == "landline":
                raise TwilioApiError(403, 60205, "SMS is not supported by landline phone number")
        now = self.emulator.now()
        verification = self._current(service, to)
        if verification is not None and verification.status == "max_attempts_reached":
            raise TwilioApiError(429, 60203, "Max send attempts reached")
        if verification is not None and len(verification.sends) >= MAX_SEND_ATTEMPTS:
            raise TwilioApiError(429, 60203, "Max send attempts reached")
        if verification is None:
            length = self.services[service]["code_length"]
            verification = Verification(
                sid="VE" + uuid.uuid4().hex,
                service_sid=service,
                account_sid=account,
                to=to,
                channel=channel,
                code="".join(secrets.choice("0123456789") for _ in range(length)),
                created=now,
                updated=now,
            )
            with self._lock:
                self.verifications[verification.sid] = verification
        verification.channel, verification.updated = channel, now
        verification.sends.append(
            {"attempt_sid": "VL" + uuid.uuid4().hex, "channel": channel, "time": iso(now)}
        )
        name = _one(form, "CustomFriendlyName") or self.services[service]["friendly_name"]
        self._deliver(account, verification, f"Your {name} verification code is: ")
        return verification.resource()

    def _deliver(self, account: str, verification: Verification, text: str) -> None:
        body = text + verification.code
        channel, to = verification.channel, verification.to
        with self._lock:
            self.deliveries.append({"channel": channel, "to": to, "body": body})
        if channel in ("sms", "whatsapp"):
            now = self.emulator.now()
            self.emulator.store(
                account,
                to=("whatsapp:" if channel == "whatsapp" else "") + to,
                from_=VERIFY_SENDER,
                body=body,
                status="delivered",
                date_sent=now,
            )

    def check(
        self, account: str, service: str, form: dict[str, list[str]], path: str
    ) -> dict[str, Any]:
        to, sid, code = _one(form, "To"), _one(form, "VerificationSid"), _one(form, "Code")
        if not code:
            raise TwilioApiError(400, 60200, "Invalid parameter: Code")
        if not to and not sid:
            raise TwilioApiError(400, 60200, "Either a 'To' or 'VerificationSid' must be specified")
        if sid:
            known = self.verifications.get(sid)
            verification = (
                self._expire(known)
                if known and known.service_sid == service and known.account_sid == account
                else None
            )
            if verification is not None and verification.status not in (
                "pending",
                "max_attempts_reached",
            ):
                verification = None
        else:
            verification = self._current(service, to)
        if verification is None:
            raise _not_found(path)
        now = self.emulator.now()
        if verification.checks >= MAX_CHECK_ATTEMPTS:
            verification.status, verification.updated = "max_attempts_reached", now
            raise TwilioApiError(429, 60202, "Max check attempts reached")
        verification.checks += 1
        verification.updated = now
        if code == verification.code:
            verification.status = "approved"
        return verification.check_resource()

    def update(self, verification: Verification, form: dict[str, list[str]]) -> dict[str, Any]:
        status = _one(form, "Status")
        if status not in ("canceled", "approved"):
            raise TwilioApiError(400, 60200, "Invalid parameter: Status")
        if self._expire(verification).status != "pending":
            raise _not_found(f"/v2/Services/{verification.service_sid}/Verifications")
        verification.status, verification.updated = status, self.emulator.now()
        return verification.resource()

    # --- Lookup --------------------------------------------------------------------------------
    def lookup(self, number: str, query: dict[str, list[str]]) -> dict[str, Any]:
        import phonenumbers

        fields = {f.strip() for f in _one(query, "Fields").split(",") if f.strip()}
        region = (_one(query, "CountryCode") or "US").upper()
        packages = {
            name: None
            for name in (
                "caller_name",
                "sim_swap",
                "call_forwarding",
                "live_activity",
                "line_type_intelligence",
                "line_status",
                "identity_match",
                "reassigned_number",
                "sms_pumping_risk",
                "phone_number_quality_score",
                "pre_fill",
            )
        }
        url = f"https://lookups.twilio.com/v2/PhoneNumbers/{number}"
        parsed, reason = _parse_with_reason(number, region)
        if parsed is None or not phonenumbers.is_valid_number(parsed):
            return {
                "calling_country_code": None,
                "country_code": None,
                "phone_number": number,
                "national_format": None,
                "valid": False,
                "validation_errors": [reason],
                **packages,
                "url": url,
            }
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if "line_type_intelligence" in fields:
            kind = line_type(e164)
            carrier, mcc, mnc = _CARRIERS.get(kind, (None, None, None))
            packages["line_type_intelligence"] = {
                "error_code": None,
                "mobile_country_code": mcc,
                "mobile_network_code": mnc,
                "carrier_name": carrier,
                "type": kind,
            }
        return {
            "calling_country_code": str(parsed.country_code),
            "country_code": phonenumbers.region_code_for_number(parsed),
            "phone_number": e164,
            "national_format": phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.NATIONAL
            ),
            "valid": True,
            "validation_errors": None,
            **packages,
            "url": f"https://lookups.twilio.com/v2/PhoneNumbers/{e164}",
        }


def line_type(e164: str) -> str:
    """The emulator's line type of a valid number (see the module's docstring)."""
    import phonenumbers

    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE:
        return _LAST_DIGIT_TYPES[_BY_LAST_DIGIT[int(e164[-1])]]
    return _LINE_TYPES.get(kind, "unknown")


def _parse(number: str, region: str | None) -> Any:
    return _parse_with_reason(number, region)[0]


def _is_valid(number: str) -> bool:
    import phonenumbers

    parsed = _parse(number, None)
    return parsed is not None and phonenumbers.is_valid_number(parsed)


def _parse_with_reason(number: str, region: str | None) -> tuple[Any, str]:
    """(the parsed number or None, the validation error Lookup would give if it is invalid)."""
    import phonenumbers
    from phonenumbers import NumberParseException, ValidationResult

    try:
        parsed = phonenumbers.parse(number, region)
    except NumberParseException as error:
        if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            return None, "INVALID_COUNTRY_CODE"
        if error.error_type == NumberParseException.TOO_LONG:
            return None, "TOO_LONG"
        if error.error_type in (
            NumberParseException.TOO_SHORT_NSN,
            NumberParseException.TOO_SHORT_AFTER_IDD,
        ):
            return None, "TOO_SHORT"
        return None, "NOT_A_NUMBER"
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    return parsed, {
        ValidationResult.IS_POSSIBLE: "INVALID_BUT_POSSIBLE",
        ValidationResult.INVALID_COUNTRY_CODE: "INVALID_COUNTRY_CODE",
        ValidationResult.TOO_SHORT: "TOO_SHORT",
        ValidationResult.TOO_LONG: "TOO_LONG",
    }.get(reason, "INVALID_LENGTH")


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


def _not_found(path: str) -> TwilioApiError:
    return TwilioApiError(404, 20404, f"The requested resource {path} was not found")
