"""CANCEL_SMS: cancel a message scheduled with sendAt, by its SID."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.actions import connector_action
from twilio_connector.messages import MESSAGE_SID_FIELDS, cancel_message, parse_message_sid
from twilio_connector.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@connector_action(fields=MESSAGE_SID_FIELDS)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    sid = parse_message_sid(event)
    return cancel_message(sid)
