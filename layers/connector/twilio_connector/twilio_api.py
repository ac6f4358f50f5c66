"""The Twilio client: built on first use, with explicit timeouts, honouring ``TWILIO_API_URL``
(which replaces every Twilio host the connector calls: api, verify and lookups)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from twilio.http import HttpClient

from twilio_connector import on_clear_caches
from twilio_connector.config import DEFAULT_API_URL, get_settings
from twilio_connector.credentials import Credentials, get_credentials, refreshed_credentials
from twilio_connector.deadline import MIN_CALL_SECONDS, time_left
from twilio_connector.errors import (
    GATEWAY_TIMEOUT,
    SERVICE_UNAVAILABLE,
    TOO_MANY_REQUESTS,
    TWILIO_CONNECTION_ERROR,
    ConnectorError,
    failure_class,
    to_connector_error,
)
from twilio_connector.observability import count, logger
from twilio_connector.redaction import mask_phone

if TYPE_CHECKING:
    from twilio.http.response import Response
    from twilio.rest import Client


class OutcomeUnknown(Exception):
    """A request that changes state (POST) may have reached Twilio, but no answer came back
    (read timeout, connection dropped): whether it took effect is unknown."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(error.message)
        self.error = error


class ConnectorHttpClient(HttpClient):
    """twilio's HTTP client interface on one urllib3 connection pool, with (connect, read)
    timeouts bounded by the invocation's deadline and a base-URL override.

    twilio's own ``TwilioHttpClient`` goes through a ``requests`` session, which costs as much
    CPU per request as the rest of a send together, and it keeps each request's answer on the
    shared client (``_test_only_last_response``), which concurrent senders overwrite. This one
    does what ``requests`` did for us and nothing more: the pool (one keep-alive connection per
    concurrent sender), certifi's CA bundle (or ``REQUESTS_CA_BUNDLE``), an ``HTTPS_PROXY`` /
    ``NO_PROXY`` from the environment (read once), no retries, and its errors raised as the
    ``requests`` exceptions that :func:`twilio_connector.errors.to_connector_error` knows.
    Its request log lines replace twilio's, which would log query strings (phone numbers).
    """

    def __init__(
        self,
        connect_timeout: float,
        read_timeout: float,
        api_url: str | None,
        pool_size: int,
        credentials: Credentials | None = None,
    ) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), is_async=False)
        self.timeout = (connect_timeout, read_timeout)  # type: ignore[assignment]
        self.api_url = api_url
        self.credentials = credentials
        self.pool = _pool(api_url or DEFAULT_API_URL, pool_size)
        import urllib3

        self._full_timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)

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
        if self.api_url:
            url = offline_url(url, self.api_url)
        response = self._send(method, url, params, data, headers, auth, allow_redirects)
        if response.status_code == 401 and self.credentials is not None:
            # a rotated token: the cached secret is stale. Twilio did nothing with a 401, so
            # the request is repeated once with the secret read afresh.
            fresh = refreshed_credentials(self.credentials)
            if fresh is not None and fresh.account_sid == self.credentials.account_sid:
                logger.info("Twilio refused the cached credentials: the secret was read again")
                response = self._send(
                    method, url, params, data, headers, _auth(fresh), allow_redirects
                )
        return response

    def _send(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None,
        data: dict[str, object] | None,
        headers: dict[str, str] | None,
        auth: tuple[str, str] | None,
        allow_redirects: bool,
    ) -> Response:
        import urllib3
        from twilio.http.response import Response

        left = time_left()
        if left < MIN_CALL_SECONDS:
            raise GATEWAY_TIMEOUT("The function's time ran out before Twilio could be called")
        method = method.upper()
        self.log_request({"method": method, "url": url})
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        headers = {**_DEFAULT_HEADERS, **(headers or {})}
        if auth:
            headers["Authorization"] = _basic_auth(*auth)
        body: str | None = None
        if data:  # as requests: no body for no data
            if headers.get("Content-Type", "").endswith("json"):  # application/(scim+)json
                body = json.dumps(data)
            else:
                body = urlencode(data, doseq=True)
        connect, read = self.timeout  # type: ignore[misc]
        if left >= max(connect, read):
            timeout = self._full_timeout  # the usual case: one object, not one per request
        else:
            timeout = urllib3.Timeout(connect=min(connect, left), read=min(read, left))
        try:
            answer = self.pool.request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=timeout,
                retries=False,
                redirect=allow_redirects,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _as_requests_error(exc) from exc
        self.log_response(answer.status, answer)
        charset = _CHARSET.search(answer.headers.get("Content-Type", ""))
        text = answer.data.decode(charset.group(1) if charset else "utf-8", "replace")
        return Response(answer.status, text, answer.headers)

    def log_request(self, kwargs: dict[str, Any]) -> None:
        if logger.isEnabledFor(logging.DEBUG):  # the path is not worked out for nothing
            logger.debug(
                "Twilio request", extra={"method": kwargs["method"], "path": _path(kwargs)}
            )

    def log_response(self, status_code: int, response: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("Twilio response", extra={"status": status_code})


#: The Twilio hosts the connector calls (twilio's clients build their URLs on them): Messages and
#: Calls (api), Verify v2 (verify), Lookup v2 (lookups). Their paths do not overlap
#: (``/2010-04-01/...``, ``/v2/Services/...``, ``/v2/PhoneNumbers/...``): one base URL serves all.
_TWILIO_HOST = re.compile(r"^https://(?:api|verify|lookups)\.twilio\.com(?=[/?]|$)")


def offline_url(url: str, api_url: str) -> str:
    """``url`` on ``TWILIO_API_URL`` (an emulator) when it is on one of Twilio's hosts."""
    found = _TWILIO_HOST.match(url)
    return api_url + url[found.end() :] if found else url


#: What requests sent with every request (urllib3 adds Host and Content-Length).
_DEFAULT_HEADERS = {"Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)


@lru_cache(maxsize=8)
def _basic_auth(username: str, password: str) -> str:
    """The Authorization header requests builds for ``auth=(username, password)``."""
    return "Basic " + b64encode(f"{username}:{password}".encode("latin1")).decode("ascii")


def _pool(url: str, size: int) -> Any:
    """A urllib3 pool manager for ``url``'s host: TLS verified against certifi's bundle (or
    ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``), through the environment's proxy for that URL
    if it names one, as requests would do."""
    import certifi
    import urllib3
    from requests.utils import get_auth_from_url, get_environ_proxies, select_proxy

    options: dict[str, Any] = {
        "num_pools": 4,  # api, verify and lookups.twilio.com
        "maxsize": size,  # one keep-alive connection per concurrent sender
        "cert_reqs": "CERT_REQUIRED",
        "ca_certs": os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or certifi.where(),
    }
    proxy = select_proxy(url, get_environ_proxies(url))
    if not proxy:
        return urllib3.PoolManager(**options)
    username, password = get_auth_from_url(proxy)
    if username:
        options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=f"{username}:{password}")
    return urllib3.ProxyManager(proxy, **options)


def _as_requests_error(exc: BaseException) -> Exception:
    """urllib3's error as the requests exception its HTTPAdapter would raise."""
    import requests
    from urllib3 import exceptions

    if isinstance(exc, exceptions.NewConnectionError):  # refused, or no such host
        return requests.ConnectionError(exc)
    if isinstance(exc, exceptions.ConnectTimeoutError):
        return requests.ConnectTimeout(exc)
    if isinstance(exc, exceptions.ReadTimeoutError):
        return requests.ReadTimeout(exc)
    if isinstance(exc, exceptions.ProxyError):
        return requests.exceptions.ProxyError(exc)
    if isinstance(exc, exceptions.SSLError):
        return requests.exceptions.SSLError(exc)
    return requests.ConnectionError(exc)  # a dropped connection, a protocol error


def _path(kwargs: dict[str, Any]) -> str:
    """The request's path, without its query string, and the number a Lookup names masked
    (``v2/PhoneNumbers/+1********00``: national digits would pass the log's redaction)."""
    url: str = kwargs["url"]
    path = url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
    return _LOOKUP_NUMBER.sub(lambda found: found.group(1) + mask_phone(found.group(2)), path)


_LOOKUP_NUMBER = re.compile(r"(PhoneNumbers/)([^/]+)")


@lru_cache(maxsize=4)
def _client_for(credentials: Credentials) -> Client:
    from twilio.rest import Client

    settings = get_settings()
    http_client = ConnectorHttpClient(
        settings.connect_timeout,
        settings.read_timeout,
        settings.api_url,
        settings.send_concurrency,
        credentials,
    )
    username, password = _auth(credentials)
    return Client(username, password, credentials.account_sid, http_client=http_client)


on_clear_caches(_client_for.cache_clear)
on_clear_caches(_basic_auth.cache_clear)


def _auth(credentials: Credentials) -> tuple[str, str]:
    """Basic auth for the REST API: the API key when the secret has one, else the token."""
    if credentials.api_key and credentials.api_secret:
        return credentials.api_key, credentials.api_secret
    return credentials.account_sid, credentials.auth_token


def get_client(credentials: Credentials | None = None) -> Client:
    """The Twilio client for the current credentials (rebuilt only when the secret changes)."""
    return _client_for(credentials or get_credentials())


@contextlib.contextmanager
def twilio_errors() -> Iterator[None]:
    """Run Twilio calls; whatever they raise leaves as a catalogued connector error."""
    try:
        yield
    except ConnectorError:
        raise  # our own (the deadline), not Twilio's
    except Exception as exc:
        raise counted(to_connector_error(exc)) from exc


def counted(error: ConnectorError) -> ConnectorError:
    """``error``, a Twilio call's final failure, counted as ``TwilioFailures`` by its class."""
    count("TwilioFailures", FailureClass=failure_class(error))
    return error


#: Answers that mean "not done, try later": Twilio's concurrency limit and unavailability.
RETRYABLE = (TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE)


def call_twilio[T](
    call: Callable[[], T], *, changes_state: bool, attempts: int = 0, reconciled: bool = False
) -> T:
    """One Twilio call, retried with exponential backoff and full jitter while time is left,
    ``attempts`` times at most (default ``TWILIO_MAX_ATTEMPTS``).

    Retried: 429 / 20429 and 503 (Twilio did nothing), and a connection that could not be
    opened. Never retried: any other 4xx. A request that changes state whose answer was lost
    (read timeout, dropped connection) is not retried here but raises ``OutcomeUnknown``, for
    the caller to find out from Twilio whether it took effect; with ``reconciled`` (SEND_SMS,
    which does find out), so does any 5xx answer to it, 503 included: Twilio may have stored
    the message and failed while answering.
    """
    import requests

    settings = get_settings()
    attempts = attempts or settings.max_attempts
    attempt = 0
    while True:
        try:
            return call()
        except ConnectorError:
            raise  # our own (the deadline)
        except Exception as exc:
            error = to_connector_error(exc)
            not_sent = isinstance(exc, requests.ConnectTimeout) or _refused(exc)
            lost = isinstance(error, TWILIO_CONNECTION_ERROR) and not not_sent
            # a 5xx answer says nothing of what was done: Twilio may have stored the message
            # and failed while answering, as much as after a dropped connection
            failed = reconciled and (error.details.get("status") or 0) >= 500
            if changes_state and (lost or failed):
                raise OutcomeUnknown(counted(error)) from exc
            if not (isinstance(error, RETRYABLE) or not_sent or lost):
                raise counted(error) from exc
        attempt += 1
        if attempt >= attempts:
            raise counted(error) from None
        pause = random.uniform(
            0, min(settings.backoff_cap_seconds, settings.backoff_base_seconds * 2**attempt)
        )
        if time_left() - pause < MIN_CALL_SECONDS:
            raise counted(error) from None
        time.sleep(pause)


def _refused(exc: BaseException) -> bool:
    """The connection was refused: the request never left."""
    import requests

    if not isinstance(exc, requests.ConnectionError):
        return False
    text = repr(exc.args)
    return "ConnectionRefusedError" in text or "NewConnectionError" in text


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
