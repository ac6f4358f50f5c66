"""Logger, Tracer and Metrics, created once; every other module imports them from here.

Service name and metrics namespace come from ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE`` (template Globals). Every log line goes through
:func:`twilio_connector.redaction.redact_text` before it is written.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from twilio_connector.redaction import redact_text


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with phone numbers masked and secrets removed."""

    def serialize(self, log: dict[str, Any]) -> str:
        return redact_text(super().serialize(log))


logger = Logger(logger_formatter=RedactingFormatter())
tracer = Tracer()
metrics = Metrics()
