"""The settings: the functions' environment, parsed once per execution environment.

A value that cannot be used (``MAX_RECIPIENTS=lots``, a negative timeout, an unknown region) is
``INVALID_CONFIGURATION``, naming the variable and what is wrong with its value. The Twilio
credentials are :mod:`twilio_connector.credentials`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from functools import cache
from typing import NamedTuple

from twilio_connector import on_clear_caches
from twilio_connector.errors import INVALID_CONFIGURATION

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
    #: Inbound triggers: ``SMS_TRIGGERS`` (a JSON list), and the single trigger of the template
    #: parameters (``SMS_TRIGGER_*``), used when its pattern is set
    sms_triggers: str | None = None
    trigger_name: str = "sms-trigger"
    trigger_pattern: str | None = None
    trigger_echo: str | None = None
    trigger_echo_error: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``env`` (default ``os.environ``); ``INVALID_CONFIGURATION`` for the
        first value that cannot be used."""
        env = os.environ if env is None else env
        read = _Reader(env)
        return cls(
            secret_id=env.get("TWILIO_SECRET_ID", "twilio-connector/credentials"),
            api_url=(env.get("TWILIO_API_URL") or "").rstrip("/") or None,
            secret_max_age=read.whole("SECRET_MAX_AGE_SECONDS", 300, least=0),
            connect_timeout=read.seconds("TWILIO_CONNECT_TIMEOUT", 3.05, positive=True),
            read_timeout=read.seconds("TWILIO_READ_TIMEOUT", 10, positive=True),
            max_recipients=read.whole("MAX_RECIPIENTS", 1000, least=1),
            # Step Functions carries at most 256 KiB from one state to the next.
            list_max_result_bytes=max(read.whole("LIST_MAX_RESULT_BYTES", 262144, least=0), 16384),
            event_bus_name=env.get("EVENT_BUS_NAME") or "default",
            event_source=env.get("EVENT_SOURCE") or "twilio.connector",
            idempotency_table=env.get("IDEMPOTENCY_TABLE") or None,
            opt_out_table=env.get("OPT_OUT_TABLE") or None,
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL") or None,
            public_webhook_url=(env.get("PUBLIC_WEBHOOK_URL") or "").rstrip("/") or None,
            validate_signature=env.get("TWILIO_VALIDATE_SIGNATURE", "true").lower() != "false",
            trigger_timeout_seconds=read.whole("TRIGGER_MATCH_TIMEOUT_MS", 100, least=1) / 1000,
            status_callback_url=env.get("STATUS_CALLBACK_URL") or None,
            idempotency_ttl_seconds=read.whole("IDEMPOTENCY_TTL_SECONDS", 86400, least=1),
            safety_margin_seconds=read.seconds("SAFETY_MARGIN_SECONDS", 2),
            backoff_base_seconds=read.seconds("BACKOFF_BASE_SECONDS", 0.25),
            backoff_cap_seconds=read.seconds("BACKOFF_CAP_SECONDS", 4),
            max_attempts=max(read.whole("TWILIO_MAX_ATTEMPTS", 4, least=0), 1),
            # Twilio's default account concurrency limit is 100 requests; leave room for others.
            send_concurrency=max(read.whole("SEND_CONCURRENCY", 50, least=0), 1),
            max_result_bytes=read.whole("MAX_RESULT_BYTES", 262144, least=1),
            task_token_ttl_seconds=read.whole("TASK_TOKEN_TTL_SECONDS", 7 * 86400, least=1),
            # a debug switch: message bodies are personal data and stay out of logs by default
            log_message_bodies=env.get("LOG_MESSAGE_BODIES", "false").lower() == "true",
            # every AWS call (DynamoDB, Secrets Manager, EventBridge, SQS, Step Functions)
            aws_connect_timeout=read.seconds("AWS_CONNECT_TIMEOUT", 1, positive=True),
            aws_read_timeout=read.seconds("AWS_READ_TIMEOUT", 5, positive=True),
            aws_max_attempts=max(read.whole("AWS_MAX_ATTEMPTS", 3, least=0), 1),
            # ISO 3166 alpha-2: the country of numbers written without their country code
            default_phone_region=read.region("DEFAULT_PHONE_REGION"),
            template_locale=(env.get("TEMPLATE_LOCALE") or "en_US").replace("-", "_"),
            template_time_zone=env.get("TEMPLATE_TIME_ZONE") or "UTC",
            verify_service_sid=env.get("VERIFY_SERVICE_SID", "").strip() or None,
            send_lease_seconds=read.optional_seconds("SEND_LEASE_SECONDS"),
            sms_triggers=env.get("SMS_TRIGGERS") or None,
            trigger_name=env.get("SMS_TRIGGER_NAME") or "sms-trigger",
            trigger_pattern=env.get("SMS_TRIGGER_PATTERN") or None,
            trigger_echo=env.get("SMS_TRIGGER_ECHO") or None,
            trigger_echo_error=env.get("SMS_TRIGGER_ECHO_ERROR") or None,
        )


class _Reader:
    """Numbers and codes read from the environment: unset or empty is the default; a value that
    cannot be used is ``INVALID_CONFIGURATION`` naming the variable and the value's problem."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def _parsed[T](self, name: str, parse: Callable[[str], T], default: T) -> T:
        written = (self.env.get(name) or "").strip()
        if not written:
            return default
        try:
            return parse(written)
        except ValueError as exc:
            raise _invalid(name, written, str(exc)) from None

    def whole(self, name: str, default: int, *, least: int) -> int:
        def parse(written: str) -> int:
            what = f"a whole number of at least {least}"
            try:
                value = int(written)
            except ValueError:
                raise ValueError(what) from None
            if value < least:
                raise ValueError(what)
            return value

        return self._parsed(name, parse, default)

    def seconds(self, name: str, default: float, *, positive: bool = False) -> float:
        return self._seconds(name, default, positive)

    def optional_seconds(self, name: str) -> float | None:
        return self._seconds(name, None, False)

    def _seconds(self, name: str, default: float | None, positive: bool) -> float | None:
        what = "a number of seconds " + ("greater than 0" if positive else "of 0 or more")

        def parse(written: str) -> float:
            try:
                value = float(written)
            except ValueError:
                raise ValueError(what) from None
            if not math.isfinite(value) or value < 0 or (positive and value == 0):
                raise ValueError(what)
            return value

        return self._parsed(name, parse, default)

    def region(self, name: str) -> str | None:
        def parse(written: str) -> str:
            from twilio_connector.phone_table import SUPPORTED_REGIONS

            region = written.upper()
            if region not in SUPPORTED_REGIONS:
                raise ValueError("an ISO 3166 alpha-2 country code such as US or GB")
            return region

        return self._parsed(name, parse, None)


def _invalid(name: str, written: str, expected: str) -> INVALID_CONFIGURATION:
    shown = written if len(written) <= 40 else written[:40] + "..."
    return INVALID_CONFIGURATION(
        f"The function's setting {name} must be {expected}, not {shown!r}; fix the stack's "
        "configuration (template parameter or environment variable)",
        variable=name,
    )


@cache
def get_settings() -> Settings:
    """The settings, read once (``INVALID_CONFIGURATION`` again at every call while they cannot
    be used)."""
    return Settings.from_env()


on_clear_caches(get_settings.cache_clear)


def template_settings() -> tuple[str, str]:
    """The templates' default locale and time zone (``TEMPLATE_LOCALE``, ``TEMPLATE_TIME_ZONE``)."""
    settings = get_settings()
    return settings.template_locale, settings.template_time_zone
