"""Lambda without Docker: each function runs as ``sam build`` packs it, in warm subprocesses under
AWS's runtime interface client (awslambdaric), each fed through its own minimal Lambda Runtime API
on 127.0.0.1. The one runner of built functions: ``make invoke`` and the offline session
(``BuiltFunction``, through ``local.invoke``), the built-function tests, and moto's Lambda invoke
in the executed workflows (``FunctionPool``, through ``local.moto_sfn``); never deployed.

A worker process sees what a Lambda execution environment holds: the function's build directory
(``LAMBDA_TASK_ROOT``), its layers' ``python/`` directories (``/opt/python``), the runtime
interface client, and the standard library; nothing of the development environment (it runs
with ``python -S``: no site-packages), so a dependency missing from the layer fails here as it
would in AWS. Invocations of one function queue for a free worker; up to ``max_workers`` workers
are started on demand and stay warm.

As in Lambda: the reserved environment variables (``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_REGION``,
``_HANDLER``, ...); initialisation has a budget of its own (``INIT_SECONDS``), the function's
timeout counts from the moment the runtime takes the event (``Sandbox.Timedout`` after it, and the
environment is discarded); errors as Lambda's Invoke reports them (``errorType``,
``errorMessage``; ``Runtime.ImportModuleError``, ``Runtime.ExitError``); the code directories are
read-only (no bytecode written: the build ships its own); stdout and stderr are the function's
logs. The interpreter is this one (the project's Python 3.13): build for this machine's
architecture (``make build-host``), or rely on ``native_shim`` for the compiled packages.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, BinaryIO

API = "/2018-06-01/runtime"
#: How long a cold start may take before it takes its first event (Lambda allows 10 s; a busy
#: 2-core machine running the tests, more).
INIT_SECONDS = 60.0
#: Lambda's PATH, without its /var/lang and /opt (the workers run this interpreter by its path).
LAMBDA_PATH = "/usr/local/bin:/usr/bin:/bin"
#: What the runtime interface client needs beside the standard library.
_RUNTIME_MODULES = ("awslambdaric", "runtime_client", "simplejson", "snapshot_restore_py")


@dataclass(frozen=True)
class FunctionSpec:
    """One function as Lambda runs it."""

    name: str
    handler: str  # module.function, as template.yaml's Handler
    code_dir: Path  # .aws-sam/build/<Function>
    layer_dirs: tuple[Path, ...]  # .aws-sam/build/<Layer>/python, in order
    environment: dict[str, str]
    timeout: float = 30.0
    memory_mb: int = 256
    arn: str = ""


@dataclass
class _Invocation:
    request_id: str
    event: bytes
    timeout: float
    arn: str
    deadline_ms: int = 0  # set when the runtime takes the event
    taken: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    payload: bytes = b""
    errored: bool = False

    def finish(self, payload: bytes, errored: bool) -> None:
        if not self.done.is_set():
            self.payload, self.errored = payload, errored
            self.done.set()


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class InvocationError(Exception):
    """A function's error as Lambda reports it: ``error_type`` is what Step Functions matches."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type

    def payload(self) -> dict[str, str]:
        return {"errorType": self.error_type, "errorMessage": str(self)}


_LINKS = threading.Lock()


def _link(link: Path, target: Path) -> None:
    with _LINKS:
        if not link.exists():
            link.symlink_to(target)


@functools.cache
def runtime_path() -> Path:
    """A directory holding only the runtime interface client and its dependencies (links into
    this interpreter's site-packages), for the workers' ``PYTHONPATH``."""
    import awslambdaric

    site = Path(awslambdaric.__file__).resolve().parent.parent
    target = Path(tempfile.gettempdir()) / f"lambda-runtime-{os.getuid()}-{abs(hash(site))}"
    target.mkdir(exist_ok=True)
    for entry in site.iterdir():
        if entry.name.split(".")[0] in _RUNTIME_MODULES and not entry.name.endswith("-info"):
            _link(target / entry.name, entry)
    return target


def _elf_machine(path: Path) -> bytes:
    """The ELF header's ``e_machine``: the architecture a binary is built for."""
    with path.open("rb") as binary:
        return binary.read(20)[18:20]


@functools.cache
def native_shim(layer_dirs: tuple[Path, ...]) -> Path | None:
    """Lambda runs arm64; this machine may not. The layer's packages whose compiled modules are
    for another architecture are linked from this interpreter's site-packages (the same pinned
    requirements, ``requirements-dev.txt`` includes the layer's) into a directory put before the
    layer; everything else comes from the built layer itself."""
    import importlib.util

    native = _elf_machine(Path(sys.executable).resolve())
    foreign = {
        path.relative_to(layer).parts[0]
        for layer in layer_dirs
        for path in layer.rglob("*.so")
        if _elf_machine(path) != native
    }
    if not foreign:
        return None
    target = Path(tempfile.gettempdir()) / f"lambda-native-{os.getuid()}-{os.getpid()}"
    target.mkdir(exist_ok=True)
    for name in sorted(foreign):
        spec = importlib.util.find_spec(name.split(".")[0])
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        _link(target / source.name, source)
    return target


class _Worker:
    """One warm execution environment: a process running awslambdaric against its own API."""

    def __init__(self, spec: FunctionSpec, log: BinaryIO) -> None:
        self.spec = spec
        self.pending: queue.Queue[_Invocation] = queue.Queue()
        self.current: _Invocation | None = None
        self.closed = threading.Event()
        self.ready = threading.Event()  # initialised: the runtime asked for its first event
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _RuntimeApi)
        self._server.daemon_threads = True
        self._server.worker = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        host, port = self._server.server_address[:2]
        shim = native_shim(spec.layer_dirs)
        layers = [*([str(shim)] if shim else []), *map(str, spec.layer_dirs)]
        paths = [str(spec.code_dir), *layers, str(runtime_path())]
        env = {
            "PATH": LAMBDA_PATH,
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": os.pathsep.join(paths),
            # Lambda's code directories are read-only: the build's own bytecode, nothing written
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "LAMBDA_RUNTIME_DIR": paths[-1],
            "_HANDLER": spec.handler,
            "AWS_LAMBDA_RUNTIME_API": f"{host}:{port}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{uuid.uuid4().hex}",
            "AWS_REGION": spec.environment.get("AWS_DEFAULT_REGION", "us-east-1"),
            **spec.environment,
        }
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
            [sys.executable, "-S", "-m", "awslambdaric", spec.handler],
            cwd=spec.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._watch, daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self.closed.is_set()

    def _watch(self) -> None:
        code = self.process.wait()
        self.closed.set()
        self.ready.set()
        message = f"RequestId: the runtime exited with status {code}"
        for invocation in self._unfinished():
            invocation.finish(_error("Runtime.ExitError", message), errored=True)
        self._server.shutdown()
        self._server.server_close()

    def _unfinished(self) -> list[_Invocation]:
        waiting = [self.current] if self.current else []
        while not self.pending.empty():
            waiting.append(self.pending.get_nowait())
        for invocation in waiting:
            invocation.taken.set()
        return waiting

    def invoke(self, event: bytes) -> tuple[bytes, bool]:
        invocation = _Invocation(
            request_id=str(uuid.uuid4()),
            event=event,
            timeout=self.spec.timeout,
            arn=self.spec.arn,
        )
        self.pending.put(invocation)
        if not invocation.taken.wait(INIT_SECONDS):  # a cold start that never ends
            invocation.finish(
                _error("Runtime.InitError", f"Init timed out after {INIT_SECONDS:.2f} seconds"),
                errored=True,
            )
            self.stop()
        remaining = invocation.deadline_ms / 1000 - time.time()
        if not invocation.done.wait(max(remaining, 0) + 1):
            invocation.finish(  # (before the stop: the runtime's exit is not the error)
                _error("Sandbox.Timedout", f"Task timed out after {self.spec.timeout:.2f} seconds"),
                errored=True,
            )
            self.stop()  # a timed-out environment is not reused (as in Lambda)
        return invocation.payload, invocation.errored

    def next_invocation(self) -> _Invocation | None:
        self.ready.set()
        while not self.closed.is_set():
            try:
                invocation = self.pending.get(timeout=0.5)
            except queue.Empty:
                continue
            invocation.deadline_ms = int((time.time() + invocation.timeout) * 1000)
            self.current = invocation
            invocation.taken.set()
            return invocation
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.closed.wait(5)


class _RuntimeApi(BaseHTTPRequestHandler):
    """The Runtime API awslambdaric speaks: next invocation, response, error, init error."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    @property
    def worker(self) -> _Worker:
        return self.server.worker  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        if self.path != f"{API}/invocation/next":
            self._answer(404, b"")
            return
        invocation = self.worker.next_invocation()
        if invocation is None:
            self._answer(410, b"")
            return
        self._answer(
            200,
            invocation.event,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                "Content-Type": "application/json",
            },
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        current = self.worker.current
        if self.path == f"{API}/init/error":
            if current is None:
                current = self.worker.next_invocation()
            if current is not None:
                current.finish(body, errored=True)
        elif current is not None and self.path.startswith(
            f"{API}/invocation/{current.request_id}/"
        ):
            current.finish(body, errored=self.path.endswith("/error"))
            self.worker.current = None
        else:
            self._answer(400, b'{"errorType": "InvalidRequestID"}')
            return
        self._answer(202, b'{"status": "OK"}')

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the runtime went away (the worker stopped)
            self.close_connection = True


class FunctionPool:
    """The warm workers of one function; an invocation waits for a free one."""

    def __init__(self, spec: FunctionSpec, log: BinaryIO, max_workers: int = 4) -> None:
        self.spec, self.log, self.max_workers = spec, log, max_workers
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def _acquire(self) -> _Worker:
        """An idle worker; a new one only when none frees up within a moment (on a small
        machine a queued invocation is served sooner than a cold start)."""
        while True:
            try:
                busy = any(worker.alive for worker in self._workers)
                worker = self._idle.get(timeout=2 if busy else 0)
            except queue.Empty:
                with self._lock:
                    self._workers = [w for w in self._workers if w.alive]
                    if len(self._workers) < self.max_workers:
                        worker = _Worker(self.spec, self.log)
                        self._workers.append(worker)
                        return worker
                continue
            if worker.alive:
                return worker

    def prestart(self) -> bool:
        """Start one worker and wait for its initialisation (Lambda's "Pending" state); False if
        it failed (the first invocation then reports why)."""
        with self._lock:
            worker = _Worker(self.spec, self.log)
            self._workers.append(worker)
        worker.ready.wait()
        if worker.alive:
            self._idle.put(worker)
        return worker.alive

    def invoke(self, event: bytes) -> tuple[bytes, bool]:
        """The function's answer to ``event``: (payload, errored), as Lambda's Invoke gives it."""
        worker = self._acquire()
        try:
            return worker.invoke(event)
        finally:
            if worker.alive:
                self._idle.put(worker)

    def stop(self) -> None:
        with self._lock:
            for worker in self._workers:
                worker.stop()
            self._workers.clear()


class BuiltFunction:
    """One function of the built stack (``build_dir``: a ``sam build`` output), by its logical ID
    in template.yaml, started on first invocation and kept warm: one execution environment, its
    invocations one at a time (the offline session's and ``make invoke``'s runner).

    ``environment`` is what the function gets besides Lambda's own variables (the template's,
    resolved, and the offline endpoints); ``logs`` receives its stdout and stderr (this process's
    standard error without one).
    """

    def __init__(
        self,
        logical_id: str,
        build_dir: Path,
        environment: dict[str, str],
        logs: IO[Any] | None = None,
    ) -> None:
        from local.template import PSEUDO_PARAMETERS, function_properties

        properties = function_properties(logical_id)
        build_dir = build_dir.resolve()
        layers = properties.get("Layers", [])
        spec = FunctionSpec(
            name=logical_id,
            handler=properties["Handler"],
            code_dir=build_dir / logical_id,
            layer_dirs=tuple(build_dir / layer["Ref"] / "python" for layer in layers),
            environment=environment,
            timeout=float(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            arn=(
                f"arn:aws:lambda:{environment.get('AWS_DEFAULT_REGION', 'us-east-1')}:"
                f"{PSEUDO_PARAMETERS['AWS::AccountId']}:function:{logical_id}"
            ),
        )
        for path in (spec.code_dir, *spec.layer_dirs):
            if not path.is_dir():
                raise FileNotFoundError(f"{path} is not built: run `make build-host`")
        self.logical_id, self.spec = logical_id, spec
        self._pool = FunctionPool(spec, logs or sys.stderr, max_workers=1)

    def invoke(self, event: Any) -> Any:
        """The function's result for ``event``, or its error raised as ``InvocationError``."""
        payload, errored = self._pool.invoke(json.dumps(event).encode())
        answer = json.loads(payload or b"null")
        if errored:
            raise InvocationError(answer["errorType"], answer["errorMessage"])
        return answer

    def stop(self) -> None:
        self._pool.stop()

    def __enter__(self) -> BuiltFunction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
