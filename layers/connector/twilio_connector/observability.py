"""Logger, Tracer and Metrics, created once; every other module imports them from here.

Service name and metrics namespace come from ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE`` (template Globals). Every log line goes through
:func:`twilio_connector.redaction.redact_text` before it is written.

``metrics.add_metric`` counts under the ``service`` dimension alone (flushed once per invocation
by ``log_metrics``); :func:`count` counts under extra dimensions (an error code, a failure
class), which the template's alarms and dashboard read. An invocation that counted nothing (a
GET_SMS, most LIST_SMS and MAKE_CALL) publishes nothing and says nothing: powertools' "No
application metrics to publish" warning, and only that one, is filtered here.
``POWERTOOLS_METRICS_DISABLED`` silences :func:`count` as it silences ``log_metrics`` (powertools'
``single_metric`` prints whatever the switch says).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.tracing.base import BaseProvider

from twilio_connector.redaction import redact_text


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with phone numbers masked and secrets removed."""

    def serialize(self, log: dict[str, Any]) -> str:
        return redact_text(super().serialize(log))


class _NoSegment:
    """A subsegment that records nothing (annotations, metadata, exceptions)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


class _NoTracing(BaseProvider):
    """The provider of a disabled Tracer: powertools' default loads the X-Ray SDK (~0.3 s of
    cold start) even when tracing is off."""

    @contextlib.contextmanager
    def in_subsegment(self, name: str = "", **kwargs: Any) -> Iterator[_NoSegment]:
        yield _NoSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str = "", **kwargs: Any) -> Any:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Any) -> None:
        return None

    def patch_all(self) -> None:
        return None


def _tracing_disabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true", "yes")


logger = Logger(logger_formatter=RedactingFormatter())
# twilio's own log records (its request validator warns with a request header's text) go through
# the same redacting handler, never the root logger's plain one
logging.getLogger("twilio")
copy_config_to_registered_loggers(source_logger=logger, include={"twilio"})
tracer = Tracer(provider=_NoTracing(), disabled=True) if _tracing_disabled() else Tracer()
metrics = Metrics()
# An empty metric set is what a read-only invocation has, not a mistake; powertools warns about it
# on every such invocation. Only that message from powertools' metrics is ignored.
warnings.filterwarnings(
    "ignore",
    message="No application metrics to publish",
    category=UserWarning,
    module=r"aws_lambda_powertools\.metrics",
)


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """Count ``value`` of metric ``name`` under ``service`` and ``dimensions`` (written at once,
    as its own EMF record: one metric set carries one set of dimensions); nothing when metrics are
    disabled."""
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=MetricUnit.Count, value=value) as metric:
        for dimension, dimension_value in dimensions.items():
            metric.add_dimension(name=dimension, value=dimension_value)
