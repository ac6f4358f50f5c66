"""VERIFY_CHECK: check the one-time code a person gave (a wrong code is valid: false)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.actions import connector_action
from twilio_connector.observability import logger, metrics, tracer
from twilio_connector.verify import CHECK_FIELDS, CheckRequest, check_verification


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@connector_action(fields=CHECK_FIELDS)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = CheckRequest.from_event(event)
    return check_verification(request)
