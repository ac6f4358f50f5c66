"""An offline session: the stand-ins of ``make invoke`` (moto, the Twilio emulator, the local API
Gateway, the built functions kept warm) left running in the background, so that one invocation
sees what the previous ones did: schedule a message, then cancel it; send with an idempotency key
twice; deliver the same webhook twice.

``make offline-start [PARAMS=...]`` starts it (``python -m local.session start``) and prints where
it listens; ``make invoke`` then runs its events in it; ``make offline-stop`` ends it. Like ``sam
local start-lambda``, it answers Lambda's Invoke API, so the AWS CLI and boto3 can call it too::

    aws lambda invoke --endpoint-url http://127.0.0.1:<port> --function-name GetSmsFunction \\
        --cli-binary-format raw-in-base64-out --payload file://events/get_sms.json out.json

Besides ``POST /2015-03-31/functions/<name>/invocations`` it answers ``GET /__offline`` (where
everything runs), ``POST /__offline/settle`` (wait for the status callbacks queued so far; the
events on the bus since the last settle) and ``POST /__offline/stop``. Everything listens on
127.0.0.1. The functions' logs (and the session's own) go to ``.aws-sam/offline/session.log``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from local.lambda_loader import ROOT
from local.lambda_runtime import InvocationError
from local.template import check_parameters, function_names, parse_parameter_overrides

STATE_FILE = ROOT / ".aws-sam" / "offline" / "session.json"
INVOKE_PATH = "/2015-03-31/functions/"
PARAMETERS_HEADER = "X-Offline-Parameter-Overrides"
START_SECONDS = 120


class SessionClient:
    """A running session, reached over HTTP (``make invoke``'s side)."""

    def __init__(self, url: str, info: dict[str, Any]) -> None:
        self.url, self.info = url, info

    @classmethod
    def find(cls, state_file: Path = STATE_FILE) -> SessionClient | None:
        """The session ``state_file`` describes, if it still answers; a stale file is removed."""
        try:
            info = json.loads(state_file.read_text())
            client = cls(info["url"], info)
            client.info = client._call("GET", "/__offline", timeout=5)
        except (OSError, ValueError, KeyError):
            if state_file.exists() and not _alive(_read_pid(state_file)):
                state_file.unlink(missing_ok=True)
            return None
        return client

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {}
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read() or b"null")

    def invoke(self, function: str, event: Any, parameters: dict[str, str]) -> tuple[Any, bool]:
        headers = {PARAMETERS_HEADER: json.dumps(parameters)} if parameters else {}
        request = urllib.request.Request(
            f"{self.url}{INVOKE_PATH}{function}/invocations",
            data=json.dumps(event).encode(),
            method="POST",
            headers=headers,
        )
        with urllib.request.urlopen(request) as answer:
            failed = bool(answer.headers.get("X-Amz-Function-Error"))
            return json.loads(answer.read()), failed

    def settle(self) -> dict[str, Any]:
        return self._call("POST", "/__offline/settle", {})

    def stop(self) -> None:
        self._call("POST", "/__offline/stop", {}, timeout=30)


def _read_pid(state_file: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        return int(json.loads(state_file.read_text())["pid"])
    return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the session process ------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SessionServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the functions' logs say what happened."""

    def do_GET(self) -> None:
        if self.path == "/__offline":
            self._json(200, self.server.info)
        else:
            self._json(404, {"message": f"no route GET {self.path}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/__offline/settle":
            self._json(200, self.server.built.settle())
        elif self.path == "/__offline/stop":
            self._json(200, {"stopping": True})
            threading.Thread(target=self.server.shutdown, daemon=True).start()
        elif self.path.startswith(INVOKE_PATH) and self.path.endswith("/invocations"):
            name = unquote(self.path[len(INVOKE_PATH) : -len("/invocations")])
            self._invoke(name.rsplit(":", 1)[-1], body)  # a name, or a function ARN
        else:
            self._json(404, {"message": f"no route POST {self.path}"})

    def _invoke(self, name: str, body: bytes) -> None:
        """Lambda's Invoke (RequestResponse): the result, or the function's error with
        ``X-Amz-Function-Error``; Lambda's own errors for an unknown function or bad JSON."""
        if name not in function_names():
            self._lambda_error(404, "ResourceNotFoundException", f"Function not found: {name}")
            return
        try:
            event = json.loads(body or b"{}")
            parameters = json.loads(self.headers.get(PARAMETERS_HEADER) or "{}")
            check_parameters(parameters)
        except ValueError as error:
            self._lambda_error(400, "InvalidRequestContentException", str(error))
            return
        try:
            self._json(200, self.server.built.invoke(name, event, parameters))
        except InvocationError as error:
            self._json(200, error.payload(), {"X-Amz-Function-Error": "Unhandled"})

    def _lambda_error(self, status: int, kind: str, message: str) -> None:
        self._json(status, {"Type": "User", "message": message}, {"x-amzn-ErrorType": kind})

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Amz-Executed-Version", "$LATEST")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class _SessionServer(ThreadingHTTPServer):
    daemon_threads = True
    built: Any
    info: dict[str, Any]


def serve(build_dir: Path, parameters: dict[str, str], state_file: Path, port: int) -> int:
    """Run the session in this process until ``/__offline/stop`` or SIGTERM."""
    from local.invoke import BuiltStack
    from local.offline import offline_stack

    log = sys.stdout  # the session log: start() points this process's output there
    with offline_stack() as offline, BuiltStack(offline, build_dir, log, parameters) as built:
        server = _SessionServer(("127.0.0.1", port), _Handler)
        host, bound = server.server_address[:2]
        server.built = built
        server.info = {
            "pid": os.getpid(),
            "url": f"http://{host}:{bound}",
            "moto": offline.moto_url,
            "twilioEmulator": offline.emulator.url,
            "webhooks": {"sms": f"{built.api.url}/sms", "status": f"{built.api.url}/status"},
            "parameters": parameters,
            "log": str(state_file.with_name("session.log").resolve()),
        }
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(server.info, indent=2) + "\n")
        print(f"offline session ready: {json.dumps(server.info)}", flush=True)
        try:
            server.serve_forever()
        finally:
            server.server_close()
            if _read_pid(state_file) == os.getpid():
                state_file.unlink(missing_ok=True)
            print("offline session stopped", flush=True)
    return 0


def start(build_dir: Path, parameters_text: str, state_file: Path, port: int) -> int:
    """Start a session in the background (or say where the running one is)."""
    running = SessionClient.find(state_file)
    if running is not None:
        print(f"An offline session is already running: {running.url} "
              f"(parameters {json.dumps(running.info['parameters'])}); "
              "`make offline-stop` ends it.", file=sys.stderr)  # fmt: skip
        print(json.dumps(running.info, indent=2))
        return 0
    try:
        parse_parameter_overrides(parameters_text)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if not (build_dir / "ConnectorLayer" / "python").is_dir():
        print(f"{build_dir} is not built: run `make build-host`", file=sys.stderr)
        return 2
    state_file.unlink(missing_ok=True)
    log_path = state_file.with_name("session.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our module
            [
                sys.executable, "-m", "local.session", "serve", "--build-dir", str(build_dir),
                "--parameter-overrides", parameters_text, "--session-file", str(state_file),
                "--port", str(port),
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives make, and ^C in the terminal
        )  # fmt: skip
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"the offline session did not start; its log ({log_path}):", file=sys.stderr)
            print(log_path.read_text()[-4000:], file=sys.stderr)
            return 1
        if _read_pid(state_file) == process.pid and (client := SessionClient.find(state_file)):
            print(f"Offline session started: {client.url} (pid {process.pid}); `make invoke` "
                  f"runs in it until `make offline-stop`. Logs: {log_path}",
                  file=sys.stderr)  # fmt: skip
            print(json.dumps(client.info, indent=2))
            return 0
        time.sleep(0.1)
    process.terminate()
    print(f"the offline session did not answer within {START_SECONDS} s; see {log_path}")
    return 1


def stop(state_file: Path) -> int:
    """Stop the running session, if any; its stand-ins and everything they held go with it."""
    client = SessionClient.find(state_file)
    if client is None:
        print("No offline session is running.", file=sys.stderr)
        return 0
    pid = int(client.info["pid"])
    with contextlib.suppress(OSError):
        client.stop()
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
    state_file.unlink(missing_ok=True)
    print(f"Offline session {client.url} stopped.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.session", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status", "serve"])
    parser.add_argument("--build-dir", type=Path, help="the host build (start)")
    parser.add_argument("--parameter-overrides", default="", help="Name=Value ... (start)")
    parser.add_argument("--session-file", type=Path, default=STATE_FILE)
    parser.add_argument("--port", type=int, default=0, help="0: a free port (start)")
    args = parser.parse_args(argv)
    if args.command in ("start", "serve") and args.build_dir is None:
        parser.error(f"{args.command} needs --build-dir")
    if args.command == "start":
        return start(args.build_dir, args.parameter_overrides, args.session_file, args.port)
    if args.command == "serve":
        parameters = parse_parameter_overrides(args.parameter_overrides)
        return serve(args.build_dir, parameters, args.session_file, args.port)
    if args.command == "stop":
        return stop(args.session_file)
    client = SessionClient.find(args.session_file)
    if client is None:
        print("No offline session is running.", file=sys.stderr)
        return 1
    print(json.dumps(client.info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
