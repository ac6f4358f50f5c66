"""LOOKUP_PHONE: a number's validity, country and (lineType: true) line type, by Twilio Lookup."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.actions import connector_action
from twilio_connector.lookup import LOOKUP_FIELDS, LookupRequest, lookup_phone
from twilio_connector.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@connector_action(fields=LOOKUP_FIELDS)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = LookupRequest.from_event(event)
    return lookup_phone(request)
