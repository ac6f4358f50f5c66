"""``make bench``: bulk send, cold start and the inbound warm path, with ratios measured in one run.

Twilio is the emulator in its own process with a fixed latency per request (``--latency``,
default 50 ms); AWS is moto in server mode in its own process. Every figure below is measured
in this run; nothing is taken from elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

from local.lambda_loader import LAYER, ROOT, load_event, load_function
from local.resources import (
    SECRET_ID,
    create_idempotency_table,
    function_environment,
    reset_layer_caches,
)
from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

sys.path.insert(0, str(LAYER))  # the functions' layer, as Lambda mounts it

SECRET = {
    "TWILIO_ACCOUNT": TEST_ACCOUNT_SID,
    "TWILIO_TOKEN": TEST_AUTH_TOKEN,
    "TWILIO_FROM": MAGIC_FROM,
}
HOST_ARCH = {"aarch64": "arm64"}.get(platform.machine(), platform.machine())

#: issue 19's targets; "bulk vs raw floor" holds for every size measured. "bulk vs sequential"
#: is 0.9 times the floor's own ratio to the sequential loop, measured in the same run: the
#: issue's "about 45x" is 0.9 times a floor it expected at 50x, which two cores shared with the
#: emulator do not reach (the table says what the floor reached).
TARGETS = {
    "bulk vs sequential": 0.9,  # times "floor vs sequential"
    "bulk vs raw floor": 0.9,
    "cold start vs import-only": 1.1,
    "inbound req/s": 1000.0,
    "slowest template render ms": 1.0,
}


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def process(args: list[str], port: int) -> Iterator[str]:
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:  # moto's server may not heed SIGTERM while busy
            child.kill()
            child.wait(10)


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def environment(moto: str, twilio: str) -> dict[str, str]:
    return function_environment(
        AWS_ENDPOINT_URL=moto, TWILIO_API_URL=twilio, POWERTOOLS_LOG_LEVEL="WARNING"
    )


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The functions' log and metric lines go nowhere while timing (they are stdout writes)."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        from twilio_connector.observability import logger

        previous = logger.registered_handler.setStream(sink)
        try:
            yield
        finally:
            logger.registered_handler.setStream(previous)


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# --- 1. bulk send --------------------------------------------------------------------------------
def url_rewriting_client(twilio: str) -> Any:
    """What a user writes by hand: twilio.rest.Client with its default HTTP client (only the
    base URL points at the emulator)."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    class ToEmulator(TwilioHttpClient):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            return super().request(
                method, url.replace("https://api.twilio.com", twilio), *args, **kwargs
            )

    return Client(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, http_client=ToEmulator())


def bulk(twilio: str, recipients: list[str], with_ledger: bool, memory: bool = False) -> float:
    """The SEND_SMS handler's time for one bulk send in a warm environment (the secret cached)
    with a new Twilio connection pool, as the floor's; with ``memory``, its peak Python memory
    in MB instead (tracemalloc slows what it watches: never both at once)."""
    os.environ["SEND_CONCURRENCY"] = os.environ.get("BENCH_CONCURRENCY", "50")
    os.environ["MAX_RECIPIENTS"] = str(max(len(recipients), 1000))
    if with_ledger:
        os.environ["IDEMPOTENCY_TABLE"] = "bench-idempotency"
    else:
        os.environ.pop("IDEMPOTENCY_TABLE", None)
    reset_layer_caches()
    from twilio_connector.config import get_credentials

    get_credentials()  # a warm environment holds the secret; the Twilio pool is new, as the floor's
    handler = load_function("send_sms").lambda_handler
    event = {
        "smsTo": recipients,
        "smsBody": f"Bulk {time.time()} for ${{name}}",
        "metadata": {"name": "you"},
    }
    result: dict[str, Any] = {}

    def run() -> None:
        result.update(handler(event, Context()))

    with quiet():
        if memory:
            tracemalloc.start()
            run()
            seconds = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        else:
            seconds = timed(run)
    assert len(result["smsResult"]) == len(recipients), "not every message was sent"
    return seconds


def sequential(twilio: str, recipients: list[str]) -> float:
    client = url_rewriting_client(twilio)

    def run() -> None:
        for to in recipients:
            client.messages.create(to=to, from_=MAGIC_FROM, body="Bulk for you")

    return timed(run)


def raw_floor(twilio: str, recipients: list[str], concurrency: int) -> float:
    """The same POSTs from a pooled raw HTTP client at the same concurrency: what the network
    and Twilio (here, its emulator) allow at best."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=concurrency))
    url = f"{twilio}/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"

    def post(to: str) -> None:
        answer = session.post(
            url,
            data={"To": to, "From": MAGIC_FROM, "Body": "Bulk for you"},
            auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN),
            timeout=30,
        )
        answer.raise_for_status()

    def run() -> None:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(post, recipients))

    return timed(run)


# --- 2. cold start -------------------------------------------------------------------------------
#: The child's last line: its own peak RSS in kB (VmHWM: ru_maxrss would count the bench
#: process's, which a child inherits at fork). Printed when the handler has returned: the clock
#: stops there, as a Lambda cold start ends when the first invocation returns (the execution
#: environment then stays up; the interpreter's teardown, about a quarter of a second here, is
#: no part of it).
PEAK_RSS = (
    "print('RSS', next(l.split()[1] for l in open('/proc/self/status') "
    "if l.startswith('VmHWM')), flush=True)"
)
FROM_SOURCES = """sys.path.insert(0, {root!r})
from local.lambda_loader import load_function
handler = load_function("send_sms").lambda_handler"""
FROM_BUILD = """sys.path[:0] = [{function!r}, {layer!r}]
from app import lambda_handler as handler"""

CONNECTOR_COLD = """
import resource, sys, time
{load}
class Context:
    function_name = "bench"; memory_limit_in_mb = 256; aws_request_id = "cold"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 30000
result = handler({{"smsTo": "+14155550100", "smsBody": "Hello ${{n}}", "metadata": {{"n": 1}}}}, Context())
assert result["messages"][0]["sid"].startswith("SM")
{peak}
"""

IMPORT_ONLY_COLD = """
import resource, sys
sys.path[:0] = {path!r}
import boto3
import babel.numbers
import twilio.rest
from twilio.http.http_client import TwilioHttpClient
secret = boto3.client("secretsmanager").get_secret_value(SecretId={secret!r})["SecretString"]
class ToEmulator(TwilioHttpClient):
    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://api.twilio.com", {twilio!r}), *args, **kwargs)
client = twilio.rest.Client({account!r}, {token!r}, http_client=ToEmulator())
body = "Hello " + babel.numbers.format_decimal(1, locale="en_US")
message = client.messages.create(to="+14155550100", from_={sender!r}, body=body)
assert message.sid.startswith("SM")
{peak}
"""


def cold(
    code: str, env: dict[str, str], python: str = sys.executable, flags: Iterable[str] = ()
) -> tuple[float, float]:
    """Seconds from starting a fresh interpreter on ``code`` to its ``RSS`` line (printed once
    the handler returned), and its peak RSS in MB."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [python, *flags, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    last = ""
    for line in child.stdout:
        if line.startswith("RSS"):
            last = line
            break
    seconds = time.perf_counter() - started
    _, errors = child.communicate()
    if child.returncode or not last:
        raise RuntimeError(errors[-2000:])
    return seconds, int(last.split()[1]) / 1024


def built_cold(
    build: Path, env: dict[str, str], python: str, runs: int, baseline: Callable[..., str]
) -> dict[str, list[float]]:
    """Cold starts from ``make build-host``'s artifact as Lambda loads it (``python -I -S -B``:
    the function and the layer alone, nothing written): the connector with the bytecode ``make
    build`` ships, the import-only baseline from the same layer, and the connector from a copy
    without bytecode (what ``sam build`` alone ships: every module compiled at each start)."""
    layer, function = build / "ConnectorLayer" / "python", build / "SendSmsFunction"
    if not layer.is_dir():
        print(f"   no build in {build} (make build-host): built-artifact cold starts skipped")
        return {}
    flags = ["-I", "-S", "-B"]
    code = CONNECTOR_COLD.format(
        load=FROM_BUILD.format(function=str(function), layer=str(layer)), peak=PEAK_RSS
    )
    with tempfile.TemporaryDirectory() as bare:
        no_pyc = shutil.ignore_patterns("__pycache__")
        shutil.copytree(layer, Path(bare) / "layer", ignore=no_pyc)
        shutil.copytree(function, Path(bare) / "function", ignore=no_pyc)
        sources_only = CONNECTOR_COLD.format(
            load=FROM_BUILD.format(function=f"{bare}/function", layer=f"{bare}/layer"),
            peak=PEAK_RSS,
        )
        found: dict[str, list[float]] = {"connector": [], "import-only": [], "no bytecode": []}
        for _ in range(runs):
            found["connector"].append(cold(code, env, python, flags)[0])
            found["import-only"].append(cold(baseline(path=[str(layer)]), env, python, flags)[0])
            found["no bytecode"].append(cold(sources_only, env, python, flags)[0])
    return found


def instructions(
    build: Path, env: dict[str, str], python: str, baseline: Callable[..., str]
) -> dict[str, int]:
    """Instructions each cold start from the build executes, counted by valgrind's callgrind:
    unlike seconds, the same whatever else the machine does. The child stops at once after its
    handler returned (``os._exit``), as the timed runs stop the clock there."""
    valgrind = shutil.which("valgrind")
    python_as_lambda = [python, "-I", "-S", "-B", "-c"]
    layer, function = build / "ConnectorLayer" / "python", build / "SendSmsFunction"
    if valgrind is None or not layer.is_dir():
        return {}
    stop = "\nimport os; os._exit(0)\n"
    codes = {
        "connector": CONNECTOR_COLD.format(
            load=FROM_BUILD.format(function=str(function), layer=str(layer)), peak=PEAK_RSS
        )
        + stop,
        "import-only": baseline(path=[str(layer)]) + stop,
    }

    def count(code: str) -> int:
        run = subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                *python_as_lambda,
                code,
            ],
            env={**env, "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
        found = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode or not found:
            raise RuntimeError(run.stderr[-2000:])
        return int(found.group(1))

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(codes, pool.map(count, codes.values()), strict=True))


# --- 3. inbound warm path ------------------------------------------------------------------------
class StubBus:
    """EventBridge that accepts every entry (the bus is not what is measured)."""

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in Entries]}


def inbound(requests: int, rounds: int = 5) -> tuple[list[float], list[float]]:
    """Each request's wall time, and each round's requests per CPU second (``requests`` split
    into ``rounds``). CPU time, not wall time: on a shared machine the wall time counts other
    processes' turns on the core. Rounds, because this virtual machine's speed drifts by a
    third from one minute to the next (the same code measured 920 to 1,580 req/s per CPU second
    in one afternoon): as with ``timeit``, the fastest round is the code's cost, the slower ones
    the machine's interference; all are printed."""
    os.environ.pop("IDEMPOTENCY_TABLE", None)
    os.environ["SMS_TRIGGERS"] = json.dumps(
        [
            {
                "name": "order-number",
                "pattern": "Order Number (?<orderNumber>.+)",
                "echo": "Your reference number is ${orderNumber}",
            }
        ]
    )
    reset_layer_caches()
    from twilio_connector import publishing

    handler = load_function("inbound_sms").lambda_handler
    stub, original = StubBus(), publishing.aws_client
    publishing.aws_client = lambda service: stub  # the stubbed bus
    event = load_event("inbound_sms")
    latencies: list[float] = []
    per_cpu_second: list[float] = []
    try:
        with quiet():
            answer = handler(event, Context())
            assert "Your reference number is 12345" in answer["body"], answer
            for _ in range(rounds):
                cpu = time.thread_time()
                for _ in range(requests // rounds):
                    started = time.perf_counter()
                    handler(event, Context())
                    latencies.append(time.perf_counter() - started)
                per_cpu_second.append((requests // rounds) / (time.thread_time() - cpu))
    finally:
        publishing.aws_client = original
    return latencies, per_cpu_second


# --- 4. templates --------------------------------------------------------------------------------
ENGINE_COLD = """
import sys, time
sys.path.insert(0, {layer!r})
started = time.perf_counter()
from twilio_connector.freemarker import render_template
imported = time.perf_counter()
render_template("Total ${{amount?string.currency}} on ${{day?date.iso?string.medium}}",
                {{"amount": 12.5, "day": "2024-03-05"}})
done = time.perf_counter()
print("COLD", imported - started, done - imported, file=sys.stderr)
"""


def template_renders(rounds: int = 200) -> list[float]:
    """Warm render time of each realistic SMS template of the FreeMarker corpus (median of
    ``rounds`` renders each, the compiled template cached as in a warm Lambda)."""
    from local.goldens.corpus import SMS_DATA, SMS_TEMPLATES
    from twilio_connector.freemarker import render_template

    medians = []
    for template in SMS_TEMPLATES:
        data = SMS_DATA[0]
        render_template(template, data)  # compile once
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            render_template(template, data)
            times.append(time.perf_counter() - started)
        medians.append(statistics.median(times))
    return medians


def engine_cold(python: str, runs: int = 5) -> tuple[float, float]:
    """Cold import of the template engine, and its first render (Babel's locale data)."""
    code = ENGINE_COLD.format(layer=str(LAYER))
    found = []
    for _ in range(runs):
        run = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
        line = next(x for x in run.stderr.splitlines() if x.startswith("COLD"))
        found.append(tuple(float(v) for v in line.split()[1:]))
    return statistics.median(f[0] for f in found), statistics.median(f[1] for f in found)


# --- the run ---------------------------------------------------------------------------------------
def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def spread(values: list[float]) -> str:
    digits = 0 if min(values) >= 100 else 2
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}" if len(values) > 1 else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05, help="emulator latency, seconds")
    parser.add_argument(
        "--sizes", default="100,1000,10000", help="bulk sends measured, in recipients"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per size up to 1,000")
    parser.add_argument("--sequential", type=int, default=200, help="recipients of the loop")
    parser.add_argument("--cold-runs", type=int, default=15)
    parser.add_argument("--inbound-requests", type=int, default=3000)
    parser.add_argument(
        "--lambda-python",
        default=str(ROOT / ".venv-lambda" / "bin" / "python"),
        help="an interpreter with only the layer's requirements, as in Lambda (cold starts)",
    )
    parser.add_argument(
        "--build-dir",
        default=str(ROOT / ".aws-sam" / f"build-{HOST_ARCH}"),
        help="make build-host's output, for cold starts from the built artifact",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "50"))
    twilio_port, moto_port = free_port(), free_port()
    emulator = [
        sys.executable,
        "-m",
        "local.twilio_emulator",
        "--port",
        str(twilio_port),
        "--latency",
        str(args.latency),
    ]
    moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)]
    load_before = os.getloadavg()
    with process(emulator, twilio_port) as twilio, process(moto, moto_port) as moto_url:
        env = environment(moto_url, twilio)
        os.environ.update(env)
        import boto3

        boto3.client("secretsmanager").create_secret(
            Name=SECRET_ID, SecretString=json.dumps(SECRET)
        )
        create_idempotency_table("bench-idempotency")
        numbers = [f"+1415{n:07d}" for n in range(max([*sizes, 1000, args.sequential]))]
        print(f"machine: {machine()}")
        print(
            f"Twilio emulator latency {args.latency * 1000:.0f} ms per request; "
            f"concurrency {concurrency}; load average {load_before[0]:.1f}\n"
        )

        print("1. bulk send ...", flush=True)
        bulk(twilio, numbers[:concurrency], with_ledger=False)  # imports, not measured
        raw_floor(twilio, numbers[:concurrency], concurrency)
        # size -> (connector seconds, floor seconds) per run, interleaved: both meet the same load
        runs_by_size: dict[int, list[tuple[float, float]]] = {}
        memory: dict[int, float] = {}
        for size in sizes:
            recipients = numbers[:size]
            runs_by_size[size] = [
                (
                    bulk(twilio, recipients, with_ledger=False),
                    raw_floor(twilio, recipients, concurrency),
                )
                for _ in range(args.repeat if size <= 1000 else 1)
            ]
            memory[size] = bulk(twilio, recipients, with_ledger=False, memory=True)
        reference = 1000 if 1000 in sizes else sizes[0]  # the size the other figures use
        ledger = bulk(twilio, numbers[:reference], with_ledger=True)
        ledger_floor = raw_floor(twilio, numbers[:reference], concurrency)
        loop = sequential(twilio, numbers[: args.sequential]) / args.sequential

        print("2. cold start ...", flush=True)
        child_env = {**os.environ, **env, "PYTHONPATH": f"{LAYER}:{ROOT}"}
        child_env.pop("IDEMPOTENCY_TABLE", None)
        # The sources' bytecode is cached as site-packages' is (a first, unmeasured run writes
        # it): with PYTHONDONTWRITEBYTECODE inherited, every run would compile the connector.
        child_env.pop("PYTHONDONTWRITEBYTECODE", None)
        connector_code = CONNECTOR_COLD.format(
            load=FROM_SOURCES.format(root=str(ROOT)), peak=PEAK_RSS
        )
        baseline = functools.partial(
            IMPORT_ONLY_COLD.format,
            secret=SECRET_ID,
            twilio=twilio,
            account=TEST_ACCOUNT_SID,
            token=TEST_AUTH_TOKEN,
            sender=MAGIC_FROM,
            peak=PEAK_RSS,
        )
        baseline_code = baseline(path=[])
        runs: dict[str, list[tuple[float, float]]] = {"connector": [], "import-only": []}
        cold(connector_code, child_env, args.lambda_python)  # writes the sources' bytecode
        for _ in range(args.cold_runs):  # interleaved, so both meet the same machine state
            runs["connector"].append(cold(connector_code, child_env, args.lambda_python))
            runs["import-only"].append(cold(baseline_code, child_env, args.lambda_python))
        cold_ratios = [
            c[0] / b[0] for c, b in zip(runs["connector"], runs["import-only"], strict=True)
        ]
        cold_connector = statistics.median(r[0] for r in runs["connector"])
        cold_baseline = statistics.median(r[0] for r in runs["import-only"])
        rss_connector = max(r[1] for r in runs["connector"])
        rss_baseline = max(r[1] for r in runs["import-only"])
        rss_line = "import sys; " + PEAK_RSS
        xray = statistics.median(
            cold("import aws_xray_sdk.core; " + rss_line, child_env, args.lambda_python)[0]
            for _ in range(3)
        )
        interpreter = statistics.median(
            cold(rss_line, child_env, args.lambda_python)[0] for _ in range(3)
        )

        built = built_cold(
            Path(args.build_dir), child_env, args.lambda_python, args.cold_runs, baseline
        )
        counted = instructions(Path(args.build_dir), child_env, args.lambda_python, baseline)

        print("3. inbound warm path ...", flush=True)
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
        latencies, inbound_rounds = inbound(args.inbound_requests)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        print("4. templates ...", flush=True)
        renders = template_renders()
        engine_import, first_render = engine_cold(args.lambda_python)
        per_second = len(latencies) / sum(latencies)
        per_cpu_second = max(inbound_rounds)
        p50 = statistics.median(latencies) * 1000
        p99 = statistics.quantiles(latencies, n=100)[98] * 1000

    print(f"\nload average after: {os.getloadavg()[0]:.1f}\n")
    print(f"bulk send, concurrency {concurrency}: connector handler vs raw pooled HTTP floor")
    print(
        f"{'recipients':>10}  {'connector':>10}  {'floor':>10}  {'speed ratio':>11}  "
        f"{'(runs)':>11}  {'peak memory':>11}  per recipient"
    )
    ratios: dict[str, float] = {}
    spreads = {"cold start vs import-only": spread(cold_ratios)}
    for size, pairs in runs_by_size.items():
        connector = statistics.median(c for c, _ in pairs)
        floor = statistics.median(f for _, f in pairs)
        each = [f / c for c, f in pairs]
        ratios[f"bulk {size:,} vs raw floor"] = statistics.median(each)
        spreads[f"bulk {size:,} vs raw floor"] = spread(each)
        print(
            f"{size:>10,}  {connector:>8.2f} s  {floor:>8.2f} s  {statistics.median(each):>10.2f}x"
            f"  {spread(each):>11}  {memory[size]:>8.1f} MB  "
            f"{connector / size * 1000:.2f} ms, {memory[size] * 1024 / size:.1f} KB"
        )
    bulk_seconds = statistics.median(c for c, _ in runs_by_size[reference]) / reference
    floor_seconds = statistics.median(f for _, f in runs_by_size[reference]) / reference
    ratios["bulk vs sequential"] = loop / bulk_seconds
    ratios["floor vs sequential"] = loop / floor_seconds
    ratios["bulk (ledger) vs raw floor"] = ledger_floor / ledger
    ratios["cold start vs import-only"] = cold_connector / cold_baseline
    ratios["peak RSS vs import-only"] = rss_connector / rss_baseline
    if built:
        built_ratios = [
            c / b for c, b in zip(built["connector"], built["import-only"], strict=True)
        ]
        spreads["built: cold start vs import-only"] = spread(built_ratios)
        ratios["built: cold start vs import-only"] = statistics.median(built_ratios)
        ratios["built: no bytecode vs bytecode"] = statistics.median(
            n / c for n, c in zip(built["no bytecode"], built["connector"], strict=True)
        )
    if counted:
        ratios["built: instructions vs import-only"] = counted["connector"] / counted["import-only"]
    ratios["inbound req/s"] = per_cpu_second
    spreads["inbound req/s"] = spread(inbound_rounds)
    ratios["slowest template render ms"] = max(renders) * 1000
    rows = [
        (
            f"sequential twilio Client loop ({args.sequential} recipients)",
            f"{loop * 1000:.1f} ms",
            f"{1 / loop:,.0f} msg/s",
        ),
        (
            f"bulk {reference:,}, per message: connector / floor",
            f"{bulk_seconds * 1000:.2f} ms",
            f"{floor_seconds * 1000:.2f} ms",
        ),
        (
            f"bulk {reference:,} with the send ledger on moto",
            f"{ledger:.2f} s",
            f"floor {ledger_floor:.2f} s",
        ),
        (
            "cold start: connector (import + secret + send)",
            f"{cold_connector * 1000:.0f} ms",
            f"peak RSS {rss_connector:.0f} MB",
        ),
        (
            "cold start: import-only baseline",
            f"{cold_baseline * 1000:.0f} ms",
            f"peak RSS {rss_baseline:.0f} MB",
        ),
        *(
            (f"cold start from the build: {what}", f"{statistics.median(times) * 1000:.0f} ms", "")
            for what, times in built.items()
        ),
        *(
            (
                f"cold start from the build: {what}, instructions",
                f"{number / 1e6:,.0f} M",
                "callgrind",
            )
            for what, number in counted.items()
        ),
        ("  (python interpreter alone)", f"{interpreter * 1000:.0f} ms", ""),
        (
            "  (import aws_xray_sdk.core, Tracing Active)",
            f"{(xray - interpreter) * 1000:+.0f} ms",
            "",
        ),
        (
            "inbound warm path, one core",
            f"{per_cpu_second:,.0f} req/s",
            f"per CPU second, best of {len(inbound_rounds)} rounds (median "
            f"{statistics.median(inbound_rounds):,.0f}); wall: {per_second:,.0f} req/s, "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
        ),
        (
            f"template warm render, {len(renders)} realistic SMS templates",
            f"{statistics.median(renders) * 1000:.3f} ms",
            f"median; slowest {max(renders) * 1000:.3f} ms",
        ),
        (
            "template engine cold import",
            f"{engine_import * 1000:.0f} ms",
            f"first render (CLDR data) {first_render * 1000:.0f} ms",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    for name, first, second in rows:
        print(f"{name:<{width}}  {first:>12}  {second}")
    print(f"\n{'ratio / figure':<32} {'measured':>10}   {'runs':<11} {'target':<8}")
    for name, value in ratios.items():
        sized = name.startswith("bulk ") and name.endswith(" vs raw floor") and "(" not in name
        target = (
            TARGETS["bulk vs raw floor"] if sized else TARGETS.get(name.removeprefix("built: "))
        )
        if name == "bulk vs sequential" and target is not None:
            target *= ratios["floor vs sequential"]
        if target is None:
            verdict, shown = "", ""
        else:
            lower_is_better = "cold" in name or name == "slowest template render ms"
            ok = value <= target if lower_is_better else value >= target
            verdict = "met" if ok else "MISSED"
            shown = f"{'<=' if lower_is_better else '>='} {target:.4g}"
        print(f"{name:<32} {value:>10.2f}   {spreads.get(name, ''):<11} {shown:<8} {verdict}")
    print(
        "(bulk vs sequential: the target is 0.9x the floor's own ratio, "
        f"{ratios['floor vs sequential']:.1f}x in this run; the issue's 45x is 0.9x a 50x floor)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
