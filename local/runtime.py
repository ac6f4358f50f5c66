"""Running a function as ``sam build`` packs it, the way Lambda runs it: a fresh interpreter
whose ``sys.path`` holds the function's built artifact, the built layer and the standard library,
nothing else (``python -I -S``: no site-packages, no PYTHON* variables); Lambda's reserved
environment variables and the template's; warm between invocations; the function's timeout
enforced as ``Sandbox.Timedout``; an error reported as Lambda reports it
(``{"errorType", "errorMessage"}``).

The interpreter is this one (the project's Python 3.13), so the build must be for this machine's
architecture: ``make build-host`` (``.aws-sam/build-<arch>``).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import IO, Any

from local.template import function_properties

#: The interpreter side: import the handler, then answer one JSON event a line on stdin with one
#: JSON answer a line on the result pipe (stdout and stderr are the function's logs, as in Lambda).
BOOTSTRAP = r"""
import importlib, json, os, sys, time
result = os.fdopen(int(sys.argv[1]), "w")
sys.path[:0] = [os.environ["LAMBDA_TASK_ROOT"], sys.argv[2]]
timeout_ms = int(sys.argv[3])

def answer(payload):
    result.write(json.dumps(payload) + "\n")
    result.flush()

class LambdaContext:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = (
        "arn:aws:lambda:" + os.environ["AWS_REGION"] + ":123456789012:function:" + function_name
    )
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    identity = client_context = None

    def __init__(self, request_id, deadline):
        self.aws_request_id, self._deadline = request_id, deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))

module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
try:
    handler = getattr(importlib.import_module(module_name), function_name)
except ImportError as error:
    answer({"errorType": "Runtime.ImportModuleError",
            "errorMessage": f"Unable to import module '{module_name}': {error}"})
    sys.exit(1)
except Exception as error:
    answer({"errorType": type(error).__name__, "errorMessage": str(error)})
    sys.exit(1)
answer({"ready": True})

for line in sys.stdin:
    request = json.loads(line)
    context = LambdaContext(request["requestId"], time.time() + timeout_ms / 1000)
    try:
        payload = {"result": handler(request["event"], context)}
    except Exception as error:
        payload = {"errorType": type(error).__name__, "errorMessage": str(error),
                   "requestId": request["requestId"]}
    try:
        answer(payload)
    except (TypeError, ValueError) as error:
        answer({"errorType": "Runtime.MarshalError", "errorMessage": str(error)})
"""


class InvocationError(Exception):
    """A function's error as Lambda reports it: ``error_type`` is what Step Functions matches."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type

    def payload(self) -> dict[str, str]:
        return {"errorType": self.error_type, "errorMessage": str(self)}


class BuiltFunction:
    """One function of the built stack, started on first invocation and kept warm.

    ``environment`` is what the function gets besides Lambda's own variables (the template's,
    resolved, and the offline endpoints); ``logs`` receives its stdout and stderr.
    """

    def __init__(
        self,
        logical_id: str,
        build_dir: Path,
        environment: dict[str, str],
        logs: IO[str] | None = None,
    ) -> None:
        properties = function_properties(logical_id)
        self.logical_id = logical_id
        build_dir = build_dir.resolve()
        self.task_root = build_dir / logical_id
        self.layer = build_dir / "ConnectorLayer" / "python"
        for path in (self.task_root, self.layer):
            if not path.is_dir():
                raise FileNotFoundError(f"{path} is not built: run `make build-host`")
        self.timeout_ms = int(properties.get("Timeout", 3)) * 1000
        memory = str(properties.get("MemorySize", 128))
        self.environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory,
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{logical_id}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "offline",
            "AWS_REGION": environment.get("AWS_DEFAULT_REGION", "us-east-1"),
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "_HANDLER": properties["Handler"],
            **environment,
        }
        self.logs = logs
        self._process: subprocess.Popen[str] | None = None
        self._results: IO[str] | None = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our bootstrap
            [
                sys.executable, "-I", "-S", "-c", BOOTSTRAP,
                str(write_end), str(self.layer), str(self.timeout_ms),
            ],
            stdin=subprocess.PIPE,
            stdout=self.logs or sys.stderr,
            stderr=subprocess.STDOUT if self.logs is None else self.logs,
            env=self.environment,
            cwd=self.task_root,
            pass_fds=(write_end,),
            text=True,
        )  # fmt: skip
        os.close(write_end)
        self._results = os.fdopen(read_end)
        ready = self._read(self.timeout_ms / 1000 + 30)  # Lambda allows 10 s of init, and more
        if "ready" not in ready:
            self.stop()
            raise InvocationError(ready["errorType"], ready["errorMessage"])

    def _read(self, seconds: float) -> dict[str, Any]:
        assert self._results is not None
        readable, _, _ = select.select([self._results], [], [], seconds)
        line = self._results.readline() if readable else ""
        if not line:
            return {}
        return json.loads(line)

    def invoke(self, event: Any) -> Any:
        """The function's result for ``event``, or its error raised as ``InvocationError``."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            assert self._process is not None and self._process.stdin is not None
            request_id = str(uuid.uuid4())
            self._process.stdin.write(json.dumps({"event": event, "requestId": request_id}))
            self._process.stdin.write("\n")
            self._process.stdin.flush()
            answer = self._read(self.timeout_ms / 1000)
            if not answer:  # out of time, or the process died: Lambda discards the environment
                exited = self._process.poll()
                self.stop()
                if exited is None:
                    raise InvocationError(
                        "Sandbox.Timedout",
                        f"Task timed out after {self.timeout_ms / 1000:.2f} seconds",
                    )
                raise InvocationError("Runtime.ExitError", f"Runtime exited with status {exited}")
            if "result" in answer:
                return answer["result"]
            raise InvocationError(answer["errorType"], answer["errorMessage"])

    def stop(self) -> None:
        if self._process is not None:
            if self._process.stdin:
                self._process.stdin.close()
            self._process.kill()
            self._process.wait()
            self._process = None
        if self._results is not None:
            self._results.close()
            self._results = None

    def __enter__(self) -> BuiltFunction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
