"""MAKE_CALL: place a call running a TwiML URL, inline TwiML, or spoken text."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.actions import connector_action
from twilio_connector.calls import MAKE_CALL_FIELDS, MakeCallRequest, make_call
from twilio_connector.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@connector_action(fields=MAKE_CALL_FIELDS)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = MakeCallRequest.from_event(event)
    return make_call(request)
