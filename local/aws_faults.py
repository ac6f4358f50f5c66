"""AWS faults moto has no switch for, injected on a boto3 client the way the tests inject the
others (botocore's ``before-send`` / ``before-call`` events, which moto's own handler follows).

- :func:`lose_answers`: AWS applies the request, and its answer is lost (the connection drops or
  the read times out after AWS committed): the caller sees ``ReadTimeoutError``, and botocore's
  retry, if any, sends the request again. For EventBridge's ``PutEvents``, the events are on the
  bus although the caller was told nothing.
- :func:`fail_calls`: a call fails after every retry botocore would make (a ``ClientError``), for
  the calls a predicate picks.

Both work with moto in-process (``mock_aws``) and in server mode (``AWS_ENDPOINT_URL``), for any
service with a JSON protocol (EventBridge, SQS, DynamoDB, Step Functions, Secrets Manager).

- :class:`LostAnswerProxy`: the same lost answer on the wire, for a process the test cannot hook
  (a built function): an endpoint in front of moto's server that forwards every request and
  drops the connection, once moto has answered, for the requests of one ``X-Amz-Target``.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


def lose_answers(client: Any, operation: str, count: int = 1) -> list[dict[str, Any]]:
    """The next ``count`` ``operation`` requests made through ``client`` are applied by AWS (a
    client of the same service and endpoint sends them) and their answers lost. Returns the
    lost requests' parameters, appended as they happen."""
    import boto3
    from botocore import xform_name
    from botocore.exceptions import ReadTimeoutError

    model = client.meta.service_model
    if model.protocol != "json":
        raise ValueError(f"{model.service_name} does not speak JSON: not supported")
    lost: list[dict[str, Any]] = []
    applier: list[Any] = []

    def apply_then_lose(request: Any, **kwargs: Any) -> None:
        if len(lost) >= count:
            return  # the answer comes back as usual
        if not applier:  # built on first use: inside the test's moto
            applier.append(
                boto3.client(
                    model.service_name,
                    region_name=client.meta.region_name,
                    endpoint_url=client.meta.endpoint_url,
                )
            )
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        params = json.loads(body or "{}")
        getattr(applier[0], xform_name(operation))(**params)  # AWS applies it...
        lost.append(params)
        raise ReadTimeoutError(endpoint_url=request.url)  # ...and the answer never arrives

    client.meta.events.register(
        f"before-send.{model.service_id.hyphenize()}.{operation}", apply_then_lose
    )
    return lost


def fail_calls(
    client: Any,
    operation: str,
    when: Callable[[dict[str, Any]], bool] = lambda params: True,
    code: str = "InternalServerError",
    times: int | None = 1,
    status: int = 500,
) -> list[dict[str, Any]]:
    """``operation`` calls through ``client`` whose parameters ``when`` picks fail with ``code``
    (HTTP ``status``), as if every retry had failed: the first ``times`` of them (None: all).
    Returns the failed calls' parameters."""
    from botocore.exceptions import ClientError

    model = client.meta.service_model
    failed: list[dict[str, Any]] = []

    def fail(params: dict[str, Any], **kwargs: Any) -> None:
        if (times is None or len(failed) < times) and when(params):
            failed.append(params)
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": "injected"},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                },
                operation,
            )

    client.meta.events.register(
        f"before-parameter-build.{model.service_id.hyphenize()}.{operation}", fail
    )
    return failed


class LostAnswerProxy:
    """``with LostAnswerProxy(moto_url) as proxy``: ``proxy.url`` forwards to ``moto_url``; the
    first ``count`` requests whose ``X-Amz-Target`` is ``target`` are applied by moto and their
    connection closed without an answer (``proxy.lost`` counts them). Give a function
    ``AWS_ENDPOINT_URL_EVENTBRIDGE=proxy.url`` to lose its ``PutEvents`` answers."""

    def __init__(self, upstream: str, target: str = "AWSEvents.PutEvents", count: int = 1) -> None:
        self.upstream = urlsplit(upstream)
        self.target, self.count, self.lost = target, count, 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _lose(self, target: str | None) -> bool:
        with self._lock:
            if target == self.target and self.lost < self.count:
                self.lost += 1
                return True
            return False

    def __enter__(self) -> LostAnswerProxy:
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=30
                )
                try:
                    upstream.request(self.command, self.path, body, dict(self.headers))
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                if proxy._lose(self.headers.get("X-Amz-Target")):
                    self.close_connection = True  # applied; the answer never leaves
                    return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
