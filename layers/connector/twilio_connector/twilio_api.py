"""The Twilio client: built on first use, with explicit timeouts, honouring ``TWILIO_API_URL``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from twilio.http.http_client import TwilioHttpClient

from twilio_connector.config import DEFAULT_API_URL, Credentials, get_credentials, get_settings
from twilio_connector.errors import to_connector_error
from twilio_connector.observability import logger

if TYPE_CHECKING:
    from twilio.http.response import Response
    from twilio.rest import Client


class ConnectorHttpClient(TwilioHttpClient):
    """twilio's pooled ``requests`` client with (connect, read) timeouts and a base-URL override.

    Its request log lines are replaced: twilio's own would log query strings (phone numbers).
    """

    def __init__(self, connect_timeout: float, read_timeout: float, api_url: str | None) -> None:
        super().__init__(pool_connections=True)
        self.timeout = (connect_timeout, read_timeout)  # type: ignore[assignment]
        self.api_url = api_url

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.api_url and url.startswith(DEFAULT_API_URL):
            url = self.api_url + url[len(DEFAULT_API_URL) :]
        return super().request(
            method, url, params, data, headers, auth, timeout or None, allow_redirects
        )

    def log_request(self, kwargs: dict[str, Any]) -> None:
        logger.debug("Twilio request", extra={"method": kwargs["method"], "path": _path(kwargs)})

    def log_response(self, status_code: int, response: Any) -> None:
        logger.debug("Twilio response", extra={"status": status_code})


def _path(kwargs: dict[str, Any]) -> str:
    url: str = kwargs["url"]
    return url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


@lru_cache(maxsize=4)
def _client_for(credentials: Credentials) -> Client:
    from twilio.rest import Client

    settings = get_settings()
    http_client = ConnectorHttpClient(
        settings.connect_timeout, settings.read_timeout, settings.api_url
    )
    if credentials.api_key and credentials.api_secret:
        username, password = credentials.api_key, credentials.api_secret
    else:
        username, password = credentials.account_sid, credentials.auth_token
    return Client(username, password, credentials.account_sid, http_client=http_client)


def get_client(credentials: Credentials | None = None) -> Client:
    """The Twilio client for the current credentials (rebuilt only when the secret changes)."""
    return _client_for(credentials or get_credentials())


@contextlib.contextmanager
def twilio_errors() -> Iterator[None]:
    """Run Twilio calls; whatever they raise leaves as a catalogued connector error."""
    try:
        yield
    except Exception as exc:
        raise to_connector_error(exc) from exc


def to_resource(instance: object) -> dict[str, Any]:
    """A twilio-python resource instance back to Twilio's JSON field names and formats."""
    resource: dict[str, Any] = {}
    for name, value in vars(instance).items():
        if name in _FROM:  # messages keep Twilio's "from" as from_, calls as _from
            name = "from"
        elif name.startswith("_"):
            continue
        if isinstance(value, datetime):
            value = format_datetime(value, usegmt=False)
        resource[name] = value
    return resource


_FROM = ("from_", "_from")
