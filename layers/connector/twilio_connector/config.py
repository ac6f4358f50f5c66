"""Configuration: the environment parsed once, and the Twilio credentials from Secrets Manager."""

from __future__ import annotations

import os
import re
import threading
import time
from functools import cache
from typing import Any, NamedTuple

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

DEFAULT_API_URL = "https://api.twilio.com"


# NamedTuples rather than frozen dataclasses: as immutable, and a third of the import time.
class Settings(NamedTuple):
    """The functions' environment, read once per execution environment."""

    secret_id: str
    api_url: str | None
    secret_max_age: int
    connect_timeout: float
    read_timeout: float
    max_recipients: int
    list_max_result_bytes: int
    event_bus_name: str = "default"
    event_source: str = "twilio.connector"
    idempotency_table: str | None = None
    #: Opt-out state (STOP / START keywords, Twilio's 21610): unset, nothing is checked
    opt_out_table: str | None = None
    dead_letter_queue_url: str | None = None
    public_webhook_url: str | None = None
    validate_signature: bool = True
    trigger_timeout_seconds: float = 0.1
    status_callback_url: str | None = None
    idempotency_ttl_seconds: int = 86400
    safety_margin_seconds: float = 2.0
    backoff_base_seconds: float = 0.25
    backoff_cap_seconds: float = 4.0
    send_lease_seconds: float | None = None
    max_attempts: int = 4
    send_concurrency: int = 50
    max_result_bytes: int = 262144
    task_token_ttl_seconds: int = 7 * 86400
    log_message_bodies: bool = False
    aws_connect_timeout: float = 1.0
    aws_read_timeout: float = 5.0
    aws_max_attempts: int = 3
    default_phone_region: str | None = None
    template_locale: str = "en_US"
    template_time_zone: str = "UTC"
    #: VERIFY_START / VERIFY_CHECK: the Verify Service (``VA...``); else the secret's
    verify_service_sid: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            secret_id=env.get("TWILIO_SECRET_ID", "twilio-connector/credentials"),
            api_url=(env.get("TWILIO_API_URL") or "").rstrip("/") or None,
            secret_max_age=int(env.get("SECRET_MAX_AGE_SECONDS", "300")),
            connect_timeout=float(env.get("TWILIO_CONNECT_TIMEOUT", "3.05")),
            read_timeout=float(env.get("TWILIO_READ_TIMEOUT", "10")),
            max_recipients=int(env.get("MAX_RECIPIENTS", "1000")),
            # Step Functions carries at most 256 KiB from one state to the next.
            list_max_result_bytes=max(int(env.get("LIST_MAX_RESULT_BYTES", "262144")), 16384),
            event_bus_name=env.get("EVENT_BUS_NAME") or "default",
            event_source=env.get("EVENT_SOURCE") or "twilio.connector",
            idempotency_table=env.get("IDEMPOTENCY_TABLE") or None,
            opt_out_table=env.get("OPT_OUT_TABLE") or None,
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL") or None,
            public_webhook_url=(env.get("PUBLIC_WEBHOOK_URL") or "").rstrip("/") or None,
            validate_signature=env.get("TWILIO_VALIDATE_SIGNATURE", "true").lower() != "false",
            trigger_timeout_seconds=int(env.get("TRIGGER_MATCH_TIMEOUT_MS", "100")) / 1000,
            status_callback_url=env.get("STATUS_CALLBACK_URL") or None,
            idempotency_ttl_seconds=int(env.get("IDEMPOTENCY_TTL_SECONDS", "86400")),
            safety_margin_seconds=float(env.get("SAFETY_MARGIN_SECONDS", "2")),
            backoff_base_seconds=float(env.get("BACKOFF_BASE_SECONDS", "0.25")),
            backoff_cap_seconds=float(env.get("BACKOFF_CAP_SECONDS", "4")),
            max_attempts=max(int(env.get("TWILIO_MAX_ATTEMPTS", "4")), 1),
            # Twilio's default account concurrency limit is 100 requests; leave room for others.
            send_concurrency=max(int(env.get("SEND_CONCURRENCY", "50")), 1),
            max_result_bytes=int(env.get("MAX_RESULT_BYTES", "262144")),
            task_token_ttl_seconds=int(env.get("TASK_TOKEN_TTL_SECONDS", str(7 * 86400))),
            # a debug switch: message bodies are personal data and stay out of logs by default
            log_message_bodies=env.get("LOG_MESSAGE_BODIES", "false").lower() == "true",
            # every AWS call (DynamoDB, Secrets Manager, EventBridge, SQS, Step Functions)
            aws_connect_timeout=float(env.get("AWS_CONNECT_TIMEOUT", "1")),
            aws_read_timeout=float(env.get("AWS_READ_TIMEOUT", "5")),
            aws_max_attempts=max(int(env.get("AWS_MAX_ATTEMPTS", "3")), 1),
            # ISO 3166 alpha-2: the country of numbers written without their country code
            default_phone_region=env.get("DEFAULT_PHONE_REGION", "").strip() or None,
            template_locale=(env.get("TEMPLATE_LOCALE") or "en_US").replace("-", "_"),
            template_time_zone=env.get("TEMPLATE_TIME_ZONE") or "UTC",
            verify_service_sid=env.get("VERIFY_SERVICE_SID", "").strip() or None,
            send_lease_seconds=float(env["SEND_LEASE_SECONDS"])
            if env.get("SEND_LEASE_SECONDS")
            else None,
        )


@cache
def get_settings() -> Settings:
    return Settings.from_env()


def template_settings() -> tuple[str, str]:
    """The templates' default locale and time zone (``TEMPLATE_LOCALE``, ``TEMPLATE_TIME_ZONE``)."""
    settings = get_settings()
    return settings.template_locale, settings.template_time_zone


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

    from twilio_connector.aws import aws_client

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


def _cause_name(exc: BaseException) -> str:
    """The AWS error code behind powertools' GetParameterError (it keeps only the message)."""
    cause = exc.__cause__ or exc.__context__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code")
    if code:
        return code
    found = re.search(r"An error occurred \((\w+)\)", str(exc))
    return found.group(1) if found else type(cause or exc).__name__
