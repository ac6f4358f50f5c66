"""The error catalogue, and the one place where Twilio and network failures become connector errors.

Every code is an exception class whose name *is* the code: the Lambda runtime reports the class
name as ``errorType``, which is what a Step Functions ``Retry``/``Catch`` names in ``ErrorEquals``.
The exception's message is a JSON object (``code``, ``message`` and, where Twilio answered,
``twilioCode``, ``status``, ``moreInfo``), so ``States.ErrorOutput`` can be parsed with
``States.StringToJson``.
"""

from __future__ import annotations

import json
from typing import Any

from twilio_connector.redaction import redact_text


class ConnectorError(Exception):
    """Base of every catalogued error. ``str(error)`` is its JSON description."""

    code: str = "UNKNOWN_ERROR"
    #: For sends to several recipients: the result of those that succeeded, and every failure
    #: with its full recipient (returned by ``failOnError: false``, never logged).
    partial_result: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None

    def __init__(self, message: str, **details: Any) -> None:
        self.message = message
        self.details = {key: value for key, value in details.items() if value is not None}
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), default=str)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__
        CATALOGUE[cls.__name__] = cls


CATALOGUE: dict[str, type[ConnectorError]] = {}


# --- input and template errors (seeds 000/002) --------------------------------------------------
class MISSING_INPUT(ConnectorError):
    """A mandatory input variable was not provided."""


class INVALID_INPUT(ConnectorError):
    """The input variable has an invalid type or value."""


class TEMPLATE_READ_ERROR(ConnectorError):
    """Cannot read the Freemarker template (too large, unreadable, or over the render limits)."""


class TEMPLATE_METADATA_ERROR(ConnectorError):
    """The template references non-existing metadata (or metadata of the wrong type)."""


class TEMPLATE_SYNTAX_ERROR(ConnectorError):
    """Invalid Freemarker syntax, or an expression the sandbox refuses."""


# --- Twilio-specific errors ---------------------------------------------------------------------
class TWILIO_CONNECTION_ERROR(ConnectorError):
    """Unable to connect to Twilio service (DNS, refused or dropped connection, timeout)."""


class AUTHENTICATION_CONNECTION_ERROR(ConnectorError):
    """Unable to authenticate to Twilio (wrong credentials, or the secret is unusable)."""


class INVALID_REQUEST_ERROR(ConnectorError):
    """Invalid request."""


class INVALID_TO_PHONE_NUMBER_ERROR(ConnectorError):
    """Invalid 'to' phone number."""


class INVALID_FROM_PHONE_NUMBER_ERROR(ConnectorError):
    """Invalid 'from' phone number."""


class PERMISSION_DENIED_ERROR(ConnectorError):
    """Lack of permission to the resource and method requested."""


class INVALID_REGION_TO_PHONE_NUMBER_ERROR(ConnectorError):
    """Permission to send an SMS has not been enabled for the region of the 'To' number."""


class TOO_MANY_REQUESTS(ConnectorError):
    """Twilio's 429 / 20429: the account's concurrency or rate limit was reached (added code)."""


class TRIGGER_CONFIGURATION_ERROR(ConnectorError):
    """SMS_TRIGGERS cannot be used (e.g. a pattern Java refuses): inbound messages are kept on the
    dead-letter queue and answered 500 until it is fixed (added code)."""


class INVALID_CONFIGURATION(ConnectorError):
    """A setting of the function's environment cannot be used (``MAX_RECIPIENTS=lots``, a
    negative timeout, an unknown ``DEFAULT_PHONE_REGION``): the message names the variable and
    what is wrong with its value, ``variable`` the variable (added code). Not retryable: the
    stack's configuration needs fixing."""


class UNKNOWN_ERROR(ConnectorError):
    """Unexpected runtime error."""


# --- send ledger errors (added codes) -----------------------------------------------------------
class IDEMPOTENCY_KEY_REUSED(ConnectorError):
    """The ``idempotencyKey`` was used before for a different request; nothing was sent."""


class SEND_OUTCOME_AMBIGUOUS(ConnectorError):
    """A lost send cannot be told apart from another request's identical message in flight."""


class TOO_MANY_SEGMENTS(ConnectorError):
    """SEND_SMS's rendered body takes more SMS segments than its ``maxSegments``; nothing was
    sent (added code)."""


class CANCELED(ConnectorError):
    """The message a send-and-wait waited on was canceled (CANCEL_SMS, or Twilio's ``canceled``
    status): the wait ends at once (added code)."""


# --- Verify errors (added code) ------------------------------------------------------------------
class VERIFICATION_MAX_ATTEMPTS_ERROR(ConnectorError):
    """Twilio Verify's limits for one number: 60202, five wrong codes were checked (the
    verification is closed until it expires, 10 minutes after it started), or 60203, five codes
    were sent without a successful check. ``twilioCode`` tells which. Retrying does not help: a
    workflow catches it (added code)."""


# --- HTTP-status errors -------------------------------------------------------------------------
class BAD_REQUEST(ConnectorError):
    """400."""


class UNAUTHORIZED(ConnectorError):
    """401."""


class FORBIDDEN(ConnectorError):
    """403."""


class NOT_FOUND(ConnectorError):
    """404."""


class METHOD_NOT_ALLOWED(ConnectorError):
    """405."""


class NOT_ACCEPTABLE(ConnectorError):
    """406."""


class REQUEST_TIMEOUT(ConnectorError):
    """408."""


class CONFLICT(ConnectorError):
    """409."""


class GONE(ConnectorError):
    """410."""


class UNPROCESSABLE_ENTITY(ConnectorError):
    """422."""


class LOCKED(ConnectorError):
    """423."""


class FAILED_DEPENDENCY(ConnectorError):
    """424."""


class INTERNAL_SERVER_ERROR(ConnectorError):
    """500."""


class NOT_IMPLEMENTED(ConnectorError):
    """501."""


class BAD_GATEWAY(ConnectorError):
    """502."""


class SERVICE_UNAVAILABLE(ConnectorError):
    """503."""


class GATEWAY_TIMEOUT(ConnectorError):
    """504."""


# --- the mapping --------------------------------------------------------------------------------
#: Twilio error codes (https://www.twilio.com/docs/api/errors) with a specific connector code.
TWILIO_CODES: dict[int, type[ConnectorError]] = {
    20003: AUTHENTICATION_CONNECTION_ERROR,  # Authenticate
    20005: AUTHENTICATION_CONNECTION_ERROR,  # Account not active
    20008: PERMISSION_DENIED_ERROR,  # resource not accessible with test credentials
    20404: NOT_FOUND,  # resource not found
    20429: TOO_MANY_REQUESTS,  # too many requests
    21211: INVALID_TO_PHONE_NUMBER_ERROR,  # invalid 'To' phone number
    21214: INVALID_TO_PHONE_NUMBER_ERROR,  # 'To' number cannot be reached (calls)
    21217: INVALID_TO_PHONE_NUMBER_ERROR,  # phone number does not appear to be valid (calls)
    21612: INVALID_TO_PHONE_NUMBER_ERROR,  # 'To' not currently reachable via SMS
    21614: INVALID_TO_PHONE_NUMBER_ERROR,  # 'To' is not a valid mobile number
    21604: INVALID_TO_PHONE_NUMBER_ERROR,  # 'To' phone number is required
    21210: INVALID_FROM_PHONE_NUMBER_ERROR,  # 'From' not verified (calls)
    21212: INVALID_FROM_PHONE_NUMBER_ERROR,  # invalid 'From' phone number
    21603: INVALID_FROM_PHONE_NUMBER_ERROR,  # 'From' phone number is required
    21606: INVALID_FROM_PHONE_NUMBER_ERROR,  # 'From' is not a valid, SMS-capable number
    21659: INVALID_FROM_PHONE_NUMBER_ERROR,  # 'From' is not a Twilio phone number
    21408: INVALID_REGION_TO_PHONE_NUMBER_ERROR,  # SMS to this region not enabled
    21215: INVALID_REGION_TO_PHONE_NUMBER_ERROR,  # calls to this region not enabled
    21216: PERMISSION_DENIED_ERROR,  # calls to this number are blocked for the account
    21608: PERMISSION_DENIED_ERROR,  # trial account: 'To' not verified
    21610: PERMISSION_DENIED_ERROR,  # recipient unsubscribed (STOP)
    21205: INVALID_REQUEST_ERROR,  # invalid voice URL
    21602: INVALID_REQUEST_ERROR,  # body required
    21609: INVALID_REQUEST_ERROR,  # invalid StatusCallback
    21617: INVALID_REQUEST_ERROR,  # body exceeds 1600 characters
    21619: INVALID_REQUEST_ERROR,  # body or media required
    21620: INVALID_REQUEST_ERROR,  # invalid media URL
    21623: INVALID_REQUEST_ERROR,  # too many media
    21910: INVALID_REQUEST_ERROR,  # invalid From/To pair (channels)
    21655: INVALID_REQUEST_ERROR,  # the ContentSid is invalid (no such Content template)
    30409: CONFLICT,  # this message cannot be canceled: it is no longer scheduled
    35111: INVALID_REQUEST_ERROR,  # SendAt missing (ScheduleType fixed)
    35114: INVALID_REQUEST_ERROR,  # SendAt outside the scheduling window
    35115: INVALID_REQUEST_ERROR,  # the same, as Twilio's newer pages number it
    35118: MISSING_INPUT,  # scheduling needs a MessagingServiceSid
    # Verify v2 (https://www.twilio.com/docs/verify/return-and-error-codes)
    60200: INVALID_REQUEST_ERROR,  # invalid parameter (To, Channel, Locale, ...)
    60202: VERIFICATION_MAX_ATTEMPTS_ERROR,  # max check attempts reached (5 wrong codes)
    60203: VERIFICATION_MAX_ATTEMPTS_ERROR,  # max send attempts reached (5 codes sent)
    60204: INVALID_REQUEST_ERROR,  # the Verify Service does not support this feature (channel)
    60205: INVALID_TO_PHONE_NUMBER_ERROR,  # SMS is not supported by a landline number
    60212: TOO_MANY_REQUESTS,  # too many concurrent verifications for the number
    60605: INVALID_REGION_TO_PHONE_NUMBER_ERROR,  # blocked by Verify Geo-Permissions
    # delivery failures, reported by status callbacks (ErrorCode)
    30003: INVALID_TO_PHONE_NUMBER_ERROR,  # unreachable destination handset
    30005: INVALID_TO_PHONE_NUMBER_ERROR,  # unknown destination handset
    30006: INVALID_TO_PHONE_NUMBER_ERROR,  # landline or unreachable carrier
    30004: PERMISSION_DENIED_ERROR,  # message blocked
    30007: PERMISSION_DENIED_ERROR,  # carrier filtered it
    30034: PERMISSION_DENIED_ERROR,  # unregistered A2P 10DLC number
    63016: INVALID_REQUEST_ERROR,  # WhatsApp free-form message outside the 24-hour window
}

#: HTTP statuses with a catalogue name.
HTTP_STATUSES: dict[int, type[ConnectorError]] = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    406: NOT_ACCEPTABLE,
    408: REQUEST_TIMEOUT,
    409: CONFLICT,
    410: GONE,
    422: UNPROCESSABLE_ENTITY,
    423: LOCKED,
    424: FAILED_DEPENDENCY,
    429: TOO_MANY_REQUESTS,
    500: INTERNAL_SERVER_ERROR,
    501: NOT_IMPLEMENTED,
    502: BAD_GATEWAY,
    503: SERVICE_UNAVAILABLE,
    504: GATEWAY_TIMEOUT,
}


def error_for_twilio(status: int | None, twilio_code: int | None) -> type[ConnectorError]:
    """The connector code for a Twilio answer: its error code first, then its HTTP status."""
    if twilio_code in TWILIO_CODES:
        return TWILIO_CODES[twilio_code]
    if status in HTTP_STATUSES:
        return HTTP_STATUSES[status]
    if status is not None and 400 <= status < 500:
        return INVALID_REQUEST_ERROR
    if status is not None and status >= 500:
        return INTERNAL_SERVER_ERROR
    return UNKNOWN_ERROR  # e.g. an undelivered message's error code we do not know


#: How a Twilio failure is counted (metric ``TwilioFailures``, dimension ``FailureClass``):
#: ``throttled`` the account's concurrency or rate limit; ``unavailable`` Twilio or the network
#: failed (5xx, timeouts, connections); ``auth`` the credentials were refused; every other code
#: is ``refused``: Twilio declined the request on its merits (a number, a permission, a SID).
FAILURE_CLASSES: dict[type[ConnectorError], str] = {
    TOO_MANY_REQUESTS: "throttled",
    TWILIO_CONNECTION_ERROR: "unavailable",
    REQUEST_TIMEOUT: "unavailable",
    INTERNAL_SERVER_ERROR: "unavailable",
    NOT_IMPLEMENTED: "unavailable",
    BAD_GATEWAY: "unavailable",
    SERVICE_UNAVAILABLE: "unavailable",
    GATEWAY_TIMEOUT: "unavailable",
    AUTHENTICATION_CONNECTION_ERROR: "auth",
    UNAUTHORIZED: "auth",
}


def failure_class(error: ConnectorError) -> str:
    """``throttled``, ``unavailable``, ``auth`` or ``refused`` (see :data:`FAILURE_CLASSES`)."""
    return FAILURE_CLASSES.get(type(error), "refused")


def to_connector_error(exc: BaseException) -> ConnectorError:
    """Turn any exception raised while talking to Twilio into a catalogued connector error.

    This is the only place that knows Twilio's and requests' exception types.
    """
    if isinstance(exc, ConnectorError):
        return exc
    # Imported here so that a function that never talks to Twilio never imports it.
    import requests
    from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException

    if isinstance(exc, TwilioRestException | TwilioServiceException):
        status = exc.status
        code = exc.code if isinstance(exc.code, int) and exc.code >= 10000 else None
        text = exc.msg if isinstance(exc, TwilioRestException) else (exc.detail or exc.title)
        return error_for_twilio(status, code)(
            redact_text(text or "Twilio refused the request"),
            twilioCode=code,
            status=status,
            moreInfo=f"https://www.twilio.com/docs/errors/{code}" if code else None,
        )
    if isinstance(exc, requests.Timeout):
        return TWILIO_CONNECTION_ERROR(f"Twilio did not answer in time ({type(exc).__name__})")
    if isinstance(exc, requests.RequestException):
        return TWILIO_CONNECTION_ERROR(f"Unable to connect to Twilio ({type(exc).__name__})")
    if isinstance(exc, TwilioException) and len(exc.args) > 1:
        # twilio's Page raises TwilioException("Unable to fetch page", response) on non-200.
        return _from_response(exc.args[1])
    if isinstance(exc, TwilioException):
        return INVALID_REQUEST_ERROR(redact_text(str(exc)))
    return UNKNOWN_ERROR(f"Unexpected {type(exc).__name__}")


#: AWS error codes that mean "not now": the same call can succeed later.
TRANSIENT_AWS_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "InternalServiceErrorException",
        "LimitExceededException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ThrottledException",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "TransactionConflictException",
    }
)


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError``, else the exception's type name."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code if isinstance(code, str) and code else type(exc).__name__


def is_transient_aws(exc: BaseException) -> bool:
    """A failed AWS call that may succeed later: no connection, a timeout, throttling, a 5xx."""
    if isinstance(exc, ConnectorError):
        return isinstance(exc, SERVICE_UNAVAILABLE | GATEWAY_TIMEOUT)
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ConnectionError | HTTPClientError):
        return True  # refused, DNS, connect or read timeout, connection closed
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return aws_error_code(exc) in TRANSIENT_AWS_CODES or status >= 500
    return False


def aws_failure(exc: BaseException, what: str) -> ConnectorError:
    """The catalogued error for a failed AWS call (``what`` names the resource): the deadline's
    own error as it is, anything else ``SERVICE_UNAVAILABLE`` (docs/workflows.md: Retry)."""
    if isinstance(exc, ConnectorError):
        return exc
    return SERVICE_UNAVAILABLE(f"{what} is unavailable ({aws_error_code(exc)})")


def _from_response(response: Any) -> ConnectorError:
    """A connector error from a raw twilio ``Response`` (status_code, text)."""
    status = getattr(response, "status_code", None)
    try:
        payload = json.loads(getattr(response, "text", "") or "{}")
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    code = payload.get("code")
    code = code if isinstance(code, int) and code >= 10000 else None
    message = payload.get("message") if isinstance(payload.get("message"), str) else None
    return error_for_twilio(status, code)(
        redact_text(message or f"Twilio answered HTTP {status}"),
        twilioCode=code,
        status=status,
        moreInfo=f"https://www.twilio.com/docs/errors/{code}" if code else None,
    )
