"""The Twilio credentials: the Secrets Manager secret's JSON object (keys in the contract), read
through powertools parameters on the connector's bounded client and cached for
``SECRET_MAX_AGE_SECONDS``; read afresh after Twilio refused them (a rotated token)."""

from __future__ import annotations

import re
import threading
import time
from functools import cache
from typing import Any, NamedTuple

from twilio_connector import on_clear_caches
from twilio_connector.aws import aws_client
from twilio_connector.config import get_settings
from twilio_connector.errors import (
    AUTHENTICATION_CONNECTION_ERROR,
    SERVICE_UNAVAILABLE,
    ConnectorError,
    is_transient_aws,
)
from twilio_connector.redaction import register_secret

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
VERIFY_SERVICE_SID = re.compile(r"^VA[0-9a-fA-F]{32}$")


class Credentials(NamedTuple):
    """The secret's JSON object (keys in the contract)."""

    account_sid: str
    auth_token: str
    api_key: str | None = None
    api_secret: str | None = None
    default_from: str | None = None
    messaging_service_sid: str | None = None
    voice_url: str | None = None
    verify_service_sid: str | None = None
    #: The auth token before a rotation, accepted on webhooks until ``previous_token_expires``
    #: (epoch seconds): Twilio signs with whichever token is primary on its side.
    previous_auth_token: str | None = None
    previous_token_expires: float | None = None

    def webhook_tokens(self, now: float | None = None) -> tuple[str, ...]:
        """The tokens a webhook signature may be made with: the current one, and the previous
        one until its grace period ends."""
        previous = self.previous_auth_token
        expires = self.previous_token_expires or 0.0
        if previous and expires > (time.time() if now is None else now):
            return (self.auth_token, previous)
        return (self.auth_token,)

    def __repr__(self) -> str:  # never print the token, even by accident
        return f"Credentials(account_sid={self.account_sid!r}, api_key={self.api_key!r})"

    @classmethod
    def from_secret(cls, value: object, secret_id: str) -> Credentials:
        if not isinstance(value, dict):
            raise AUTHENTICATION_CONNECTION_ERROR(f"Secret {secret_id} is not a JSON object")
        account = value.get("TWILIO_ACCOUNT")
        token = value.get("TWILIO_TOKEN")
        for name, field in (("TWILIO_ACCOUNT", account), ("TWILIO_TOKEN", token)):
            if not isinstance(field, str) or not field:
                raise AUTHENTICATION_CONNECTION_ERROR(f"Secret {secret_id} has no {name}")
        if not ACCOUNT_SID.match(account):
            raise AUTHENTICATION_CONNECTION_ERROR(
                f"Secret {secret_id}: TWILIO_ACCOUNT is not an Account SID (AC + 32 hex digits)"
            )
        api_key = value.get("TWILIO_API_KEY") or None
        api_secret = value.get("TWILIO_API_SECRET") or None
        if api_key and not (isinstance(api_key, str) and API_KEY_SID.match(api_key)):
            raise AUTHENTICATION_CONNECTION_ERROR(
                f"Secret {secret_id}: TWILIO_API_KEY is not an API key SID (SK + 32 hex digits)"
            )
        if bool(api_key) != bool(api_secret):
            raise AUTHENTICATION_CONNECTION_ERROR(
                f"Secret {secret_id}: TWILIO_API_KEY and TWILIO_API_SECRET go together"
            )
        previous, expires = _previous_token(value, secret_id)
        register_secret(token)
        register_secret(api_secret)
        register_secret(previous)
        return cls(
            account_sid=account,
            auth_token=token,
            api_key=api_key,
            api_secret=api_secret,
            default_from=_optional_str(value, "TWILIO_FROM"),
            messaging_service_sid=_optional_str(value, "TWILIO_MESSAGING_SERVICE_SID"),
            voice_url=_optional_str(value, "TWILIO_VOICE_URL"),
            verify_service_sid=_optional_str(value, "TWILIO_VERIFY_SERVICE_SID"),
            previous_auth_token=previous,
            previous_token_expires=expires,
        )


def _previous_token(value: dict, secret_id: str) -> tuple[str | None, float | None]:
    """``TWILIO_PREVIOUS_TOKEN`` and the end of its grace period, ``TWILIO_PREVIOUS_TOKEN_EXPIRES``
    (ISO 8601 with a zone, e.g. ``2026-12-06T12:00:00Z``): both or neither."""
    from datetime import datetime

    token = value.get("TWILIO_PREVIOUS_TOKEN") or None
    until = value.get("TWILIO_PREVIOUS_TOKEN_EXPIRES") or None
    if token is None and until is None:
        return None, None
    if not (isinstance(token, str) and isinstance(until, str)):
        raise AUTHENTICATION_CONNECTION_ERROR(
            f"Secret {secret_id}: TWILIO_PREVIOUS_TOKEN and TWILIO_PREVIOUS_TOKEN_EXPIRES go "
            "together"
        )
    try:
        expires = datetime.fromisoformat(until.strip())
    except ValueError:
        expires = None
    if expires is None or expires.tzinfo is None:
        raise AUTHENTICATION_CONNECTION_ERROR(
            f"Secret {secret_id}: TWILIO_PREVIOUS_TOKEN_EXPIRES is not an ISO 8601 time with "
            "a zone (2026-12-06T12:00:00Z)"
        )
    return token, expires.timestamp()


def _optional_str(value: dict, key: str) -> str | None:
    item = value.get(key)
    return item.strip() or None if isinstance(item, str) else None


@cache
def _secrets() -> Any:
    """powertools' Secrets Manager provider (its cache) on the connector's bounded client."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=aws_client("secretsmanager"))


def get_credentials(*, fresh: bool = False) -> Credentials:
    """The credentials, cached by powertools for ``SECRET_MAX_AGE_SECONDS`` (default 5 minutes);
    ``fresh`` reads the secret again (after Twilio refused the cached ones)."""
    from aws_lambda_powertools.utilities import parameters

    settings = get_settings()
    try:
        value = _secrets().get(
            settings.secret_id,
            transform="json",
            max_age=settings.secret_max_age,
            force_fetch=fresh,
        )
    except parameters.exceptions.TransformParameterError as exc:
        raise AUTHENTICATION_CONNECTION_ERROR(
            f"Secret {settings.secret_id} is not valid JSON"
        ) from exc
    except parameters.exceptions.GetParameterError as exc:
        raise _unreadable(exc, settings.secret_id) from exc
    return Credentials.from_secret(value, settings.secret_id)


def _unreadable(exc: BaseException, secret_id: str) -> ConnectorError:
    """Why the secret could not be read: Secrets Manager unreachable, throttling or failing is
    transient (``SERVICE_UNAVAILABLE``); a missing secret or a denied read is not."""
    cause = exc.__cause__ or exc.__context__ or exc
    if isinstance(cause, ConnectorError):
        return cause  # the invocation's deadline
    code = _cause_name(exc)
    if is_transient_aws(cause):
        return SERVICE_UNAVAILABLE(f"Secret {secret_id} could not be read now ({code}); retry")
    return AUTHENTICATION_CONNECTION_ERROR(f"Secret {secret_id} could not be read ({code})")


#: The secret is read afresh after a refusal at most this often (a wrong token, not a rotation,
#: would otherwise read it on every Twilio call).
REFRESH_INTERVAL_SECONDS = 1.0
_refresh_lock = threading.Lock()
_last_refresh = 0.0


def refreshed_credentials(refused: Credentials) -> Credentials | None:
    """After Twilio refused ``refused`` (401): the secret's credentials read afresh, or None when
    the secret still holds the same (a wrong token, not a rotation)."""
    global _last_refresh
    with _refresh_lock:
        current = get_credentials()
        if current == refused and time.monotonic() - _last_refresh >= REFRESH_INTERVAL_SECONDS:
            _last_refresh = time.monotonic()
            current = get_credentials(fresh=True)
    return None if current == refused else current


@on_clear_caches
def _forget() -> None:
    """The provider (and the secret it holds) and the refresh clock, forgotten."""
    global _last_refresh
    _secrets.cache_clear()
    _last_refresh = 0.0


def _cause_name(exc: BaseException) -> str:
    """The AWS error code behind powertools' GetParameterError (it keeps only the message)."""
    cause = exc.__cause__ or exc.__context__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code")
    if code:
        return code
    found = re.search(r"An error occurred \((\w+)\)", str(exc))
    return found.group(1) if found else type(cause or exc).__name__
