"""Inbound webhooks: POST /sms (a message comes in) and POST /status (message status callbacks)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.inbound import inbound_message, receive_sms, receive_status
from twilio_connector.observability import logger, metrics, tracer
from twilio_connector.triggers import check_triggers
from twilio_connector.webhook_api import params, resolve, twiml, webhook_resolver

check_triggers()  # an unusable SMS_TRIGGERS is logged at cold start, with the trigger and reason
app = webhook_resolver()


@app.post("/sms")
def incoming_sms() -> Response:
    message = inbound_message(params(app))
    return twiml(receive_sms(message, app.lambda_context))


@app.post("/status")
def status_callback() -> Response:
    receive_status(params(app))
    return Response(204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
