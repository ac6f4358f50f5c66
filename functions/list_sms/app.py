"""LIST_SMS (Bizagi's "Get All SMS"): one page of the account's messages, within a byte budget."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.actions import connector_action
from twilio_connector.messages import LIST_SMS_FIELDS, list_messages, parse_list_request
from twilio_connector.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@connector_action(fields=LIST_SMS_FIELDS)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    start, token = parse_list_request(event)
    return list_messages(start, token)
