"""A local stand-in for API Gateway (REST API, proxy integration): HTTP in, proxy event to the
real handler, its answer back as HTTP. Used by the demo and the tests, never deployed."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def proxy_event(
    method: str,
    path: str,
    headers: dict[str, str],
    body: str,
    stage: str = "Prod",
    query: str = "",
) -> dict[str, Any]:
    """The event API Gateway gives a proxy integration for a request to ``/{stage}{path}``."""
    multi_query = parse_qs(query, keep_blank_values=True) if query else None
    host = next((v for k, v in headers.items() if k.lower() == "host"), "localhost")
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()}
        if multi_query
        else None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "domainName": host,
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
        },
        "body": body,
        "isBase64Encoded": False,
    }


class ApiGatewayAdapter:
    """``with ApiGatewayAdapter(handler, context) as api: api.url + "/sms"``."""

    def __init__(self, handler: Handler, context: Any, stage: str = "Prod") -> None:
        self.handler, self.context, self.stage = handler, context, stage
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self._server.daemon_threads = True
        self._server.adapter = self  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{self.stage}"

    def __enter__(self) -> ApiGatewayAdapter:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Request(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one response is two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines would carry phone numbers."""

    def do_POST(self) -> None:
        adapter: ApiGatewayAdapter = self.server.adapter  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        prefix = f"/{adapter.stage}"
        if not parts.path.startswith(prefix + "/"):
            self._answer(403, {"Content-Type": "application/json"}, '{"message":"Forbidden"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {key: value for key, value in self.headers.items()}
        headers["X-Forwarded-Proto"] = "http"
        event = proxy_event(
            "POST", parts.path[len(prefix) :], headers, body, adapter.stage, parts.query
        )
        answer = adapter.handler(event, adapter.context)
        payload = answer.get("body") or ""
        data = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
        answer_headers = dict(answer.get("headers") or {})
        for key, values in (answer.get("multiValueHeaders") or {}).items():
            answer_headers[key] = values[-1]
        self._answer(answer["statusCode"], answer_headers, data)

    def _answer(self, status: int, headers: dict[str, str], body: bytes | str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
