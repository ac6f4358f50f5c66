"""Inbound triggers: ``{name, pattern, echo, echoError}``, matched with a time limit.

Patterns are Java regular expressions with java.util.regex's syntax and semantics
(:mod:`twilio_connector.java_regex` translates them), run by the ``regex`` module, whose
per-call ``timeout`` bounds a catastrophic pattern or message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import regex
from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector import on_clear_caches
from twilio_connector.config import get_settings
from twilio_connector.errors import INVALID_CONFIGURATION
from twilio_connector.java_regex import JavaPatternError, compile_java
from twilio_connector.observability import logger, metrics

MAX_TRIGGERS = 50
MAX_PATTERN_CHARS = 1000
#: Text matched against the patterns: the most a Twilio message body holds.
MAX_MESSAGE_CHARS = 1600


class TriggerConfigError(ValueError):
    """SMS_TRIGGERS cannot be used: raised at cold start, so a bad deployment fails fast."""


@dataclass(frozen=True)
class Trigger:
    name: str
    pattern: regex.Pattern
    echo: str | None = None
    echo_error: str | None = None


@dataclass(frozen=True)
class Match:
    trigger: Trigger
    groups: dict[str, str | None]


def parse_triggers(raw: str | None, single: dict[str, str | None]) -> tuple[Trigger, ...]:
    """The triggers of ``SMS_TRIGGERS`` (a JSON list) plus the single trigger of the template
    parameters, when its pattern is set."""
    items: list[Any] = []
    if raw and raw.strip():
        try:
            items = json.loads(raw)
        except ValueError as exc:
            raise TriggerConfigError(f"SMS_TRIGGERS is not valid JSON: {exc}") from None
        if not isinstance(items, list):
            raise TriggerConfigError("SMS_TRIGGERS must be a JSON list of trigger objects")
    if single.get("pattern"):
        items = [*items, {k: v for k, v in single.items() if v}]
    if len(items) > MAX_TRIGGERS:
        raise TriggerConfigError(f"SMS_TRIGGERS holds more than {MAX_TRIGGERS} triggers")
    triggers: list[Trigger] = []
    for position, item in enumerate(items):
        where = f"SMS_TRIGGERS[{position}]"
        if not isinstance(item, dict):
            raise TriggerConfigError(f"{where} must be an object with name and pattern")
        unknown = set(item) - {"name", "pattern", "echo", "echoError"}
        if unknown:
            raise TriggerConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        name, pattern = item.get("name"), item.get("pattern")
        if not isinstance(name, str) or not name.strip():
            raise TriggerConfigError(f"{where} needs a name")
        if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_CHARS:
            raise TriggerConfigError(f"{where} ({name}) needs a pattern of at most 1000 characters")
        for key in ("echo", "echoError"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise TriggerConfigError(f"{where} ({name}): {key} must be a string")
        try:
            compiled = compile_java(pattern, MAX_MESSAGE_CHARS)
        except JavaPatternError as exc:
            raise TriggerConfigError(f"{where} ({name}): invalid pattern: {exc}") from None
        triggers.append(Trigger(name, compiled, item.get("echo"), item.get("echoError")))
    if len({t.name for t in triggers}) != len(triggers):
        raise TriggerConfigError("SMS_TRIGGERS: trigger names must be unique")
    return tuple(triggers)


@cache
def load_triggers() -> tuple[Trigger, ...]:
    settings = get_settings()
    return parse_triggers(
        settings.sms_triggers,
        {
            "name": settings.trigger_name,
            "pattern": settings.trigger_pattern,
            "echo": settings.trigger_echo,
            "echoError": settings.trigger_echo_error,
        },
    )


on_clear_caches(load_triggers.cache_clear)


def check_triggers() -> None:
    """Load the triggers at cold start. A list that cannot be used (a pattern Java refuses, bad
    JSON) is logged there with the trigger and the reason; the function still starts, and each
    inbound message is then kept on the dead-letter queue and answered with
    TRIGGER_CONFIGURATION_ERROR (see inbound), so nothing is lost while it is fixed. Settings
    that cannot be used are logged too; each request is then answered INVALID_CONFIGURATION."""
    try:
        load_triggers()
    except TriggerConfigError as exc:
        logger.error("SMS_TRIGGERS cannot be used", extra={"reason": str(exc)})
    except INVALID_CONFIGURATION as exc:  # every request answers it, until it is fixed
        logger.error("Settings cannot be used", extra={"reason": exc.message})


def match_all(triggers: tuple[Trigger, ...], text: str, timeout: float) -> list[Match]:
    """Every trigger whose pattern is found in ``text``. A trigger that runs out of time is
    reported (log, ``TriggerTimeout`` metric) and counts as no match; the others still run."""
    text = text[:MAX_MESSAGE_CHARS]
    matches: list[Match] = []
    for trigger in triggers:
        try:
            found = trigger.pattern.search(text, timeout=timeout)
        except TimeoutError:
            logger.warning("Trigger pattern timed out", extra={"trigger": trigger.name})
            metrics.add_metric(name="TriggerTimeout", unit=MetricUnit.Count, value=1)
            continue
        if found is not None:
            matches.append(Match(trigger, found.groupdict()))
    return matches
