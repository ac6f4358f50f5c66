"""The webhook API around the inbound routes: the signature check, and errors as HTTP answers."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.metrics import MetricUnit

from twilio_connector.config import Settings, get_settings
from twilio_connector.credentials import Credentials, get_credentials, refreshed_credentials
from twilio_connector.deadline import deadline_from
from twilio_connector.errors import ConnectorError
from twilio_connector.inbound import InvalidWebhook
from twilio_connector.observability import logger, metrics
from twilio_connector.webhooks import (
    FormParams,
    WebhookTooLarge,
    form_params,
    has_signature,
    signature_is_valid,
)

TWIML = "text/xml"


def verify_twilio_signature(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response:
    """Refuse (403) a request whose ``X-Twilio-Signature`` does not verify with the auth token,
    and (413) one larger than any webhook Twilio sends, before parsing it."""
    settings = get_settings()
    event = app.current_event.raw_event
    try:
        form = form_params(event)  # parsed once: the signature check and the route both read it
    except WebhookTooLarge as exc:
        logger.warning(
            "Webhook refused: larger than Twilio's",
            extra={"route": app.current_event.path, "reason": str(exc)},
        )
        return Response(413, content_types.TEXT_PLAIN, "Payload Too Large")
    app.append_context(form_params=form)
    if settings.validate_signature and not _verifies(event, form, settings):
        metrics.add_metric(name="WebhookSignatureInvalid", unit=MetricUnit.Count, value=1)
        logger.warning(
            "Webhook refused: the signature does not verify",
            extra={
                "route": app.current_event.path,
                "signed": has_signature(event),
            },
        )
        return Response(403, content_types.TEXT_PLAIN, "Forbidden")
    return next_middleware(app)


def _verifies(event: dict, form: FormParams, settings: Settings) -> bool:
    """Whether the signature verifies with the secret's token, or with its previous token during
    the rotation's grace period. On a failure the secret is read again (at most once a second,
    :func:`refreshed_credentials`): a token rotated since the cache was filled verifies at once."""
    credentials = get_credentials()
    if _verifies_with(credentials, event, form, settings):
        return True
    fresh = refreshed_credentials(credentials)
    return fresh is not None and _verifies_with(fresh, event, form, settings)


def _verifies_with(
    credentials: Credentials, event: dict, form: FormParams, settings: Settings
) -> bool:
    for position, token in enumerate(credentials.webhook_tokens()):
        if signature_is_valid(event, token, settings.public_webhook_url, form):
            if position:
                logger.info("Webhook signed with the previous auth token (grace period)")
                metrics.add_metric(name="WebhookPreviousToken", unit=MetricUnit.Count, value=1)
            return True
    return False


def webhook_resolver() -> APIGatewayRestResolver:
    """A resolver that checks every request's signature and answers errors as HTTP statuses."""
    app = APIGatewayRestResolver()
    app.use(middlewares=[verify_twilio_signature])

    @app.not_found
    def unrouted(_: NotFoundError) -> Response:
        # reached after the signature check: only a signed request learns the routes
        event = app.current_event
        # (the resolver's own table of routes: a new route is known here as it is registered)
        routes = app._static_routes + app._dynamic_routes
        allowed = sorted({route.method for route in routes if route.rule.match(event.path)})
        logger.warning(
            "Webhook refused: no such route",
            extra={"route": event.path, "method": event.http_method, "allowed": allowed},
        )
        if allowed:
            return Response(
                405,
                content_types.TEXT_PLAIN,
                "Method Not Allowed",
                headers={"Allow": ", ".join(allowed)},
            )
        return Response(404, content_types.TEXT_PLAIN, "Not Found")

    @app.exception_handler(InvalidWebhook)
    def invalid(error: InvalidWebhook) -> Response:
        return Response(400, content_types.TEXT_PLAIN, str(error))

    @app.exception_handler(ConnectorError)
    def connector_error(error: ConnectorError) -> Response:
        logger.error("Webhook failed", extra={"code": error.code})
        return Response(500, content_types.TEXT_PLAIN, error.code)

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        # (matched by name: importing powertools' idempotency package loads boto3 at cold start)
        if type(error).__name__ == "IdempotencyAlreadyInProgressError":
            # the same MessageSid is being processed right now: that delivery answers Twilio
            return Response(409, content_types.TEXT_PLAIN, "Already in progress")
        if type(error).__name__ == "IdempotencyPersistenceLayerError":
            # the idempotency table failed (the message's events were kept first): transient
            logger.error("Webhook failed", extra={"code": "SERVICE_UNAVAILABLE"})
            return Response(500, content_types.TEXT_PLAIN, "SERVICE_UNAVAILABLE")
        # e.g. neither EventBridge nor the dead-letter queue took the event: answering 500 makes
        # Twilio call the number's fallback URL, and the idempotency record is released
        logger.exception("Webhook failed", extra={"code": "UNKNOWN_ERROR"})
        return Response(500, content_types.TEXT_PLAIN, "UNKNOWN_ERROR")

    return app


def twiml(body: str) -> Response:
    return Response(200, TWIML, body)


def params(app: APIGatewayRestResolver) -> dict[str, str]:
    """The request's parameters, as the signature middleware parsed them."""
    form = app.context.get("form_params")
    return form if form is not None else form_params(app.current_event.raw_event)


def _plain(status: int, body: str) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "text/plain"}, "body": body}


def resolve(app: APIGatewayRestResolver, event: object, context: object) -> dict:
    """``app.resolve``, and a 400 for anything that is not an API Gateway proxy event."""
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        return _plain(400, "Bad Request")
    try:
        get_settings()  # read before the deadline is: INVALID_CONFIGURATION is answered too
    except ConnectorError as error:
        logger.error("Webhook failed", extra={"code": error.code})
        return _plain(500, error.code)
    with deadline_from(context):  # every AWS call of the webhook ends before the Lambda's time
        return app.resolve(event, context)
