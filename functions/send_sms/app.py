"""SEND_SMS: send a templated SMS to one or many recipients."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.actions import connector_action
from twilio_connector.observability import logger, metrics, tracer
from twilio_connector.sms import SEND_SMS_FIELDS, SendSmsRequest, send_sms


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@connector_action(fields=SEND_SMS_FIELDS, tolerant_flag="failOnError")
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = SendSmsRequest.from_event(event)
    return send_sms(request)
