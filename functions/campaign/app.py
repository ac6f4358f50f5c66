"""The example campaign's steps: plan its paced batches, settle a batch's outcome, tally it."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_connector.actions import connector_action
from twilio_connector.campaign import CAMPAIGN_FIELDS, run_step
from twilio_connector.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@connector_action(fields=CAMPAIGN_FIELDS)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return run_step(event)
