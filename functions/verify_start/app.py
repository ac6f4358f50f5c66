"""VERIFY_START: send a one-time code through Twilio Verify (sms, call, whatsapp or email)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.actions import connector_action
from twilio_connector.observability import logger, metrics, tracer
from twilio_connector.verify import START_FIELDS, StartRequest, start_verification


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@connector_action(fields=START_FIELDS)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = StartRequest.from_event(event)
    return start_verification(request)
