"""One warm Lambda execution environment for ``make bench``, in a process of its own so that the
bench can hold it to the function's CPU share (``local.cpu_share``). Run as a script by an
interpreter that has only what Lambda has (``python -I -S -B local/bench_worker.py MODE ...``):

- ``connector FUNCTION_DIR LAYER_DIR``: SEND_SMS as ``sam build`` packs it (the function's
  artifact and the built layer on ``sys.path``, nothing else), with the environment it is given
  (the template's, the ledger on);
- ``floor LAYER_DIR URL ACCOUNT TOKEN SENDER CONCURRENCY``: what a user would write instead at
  its leanest, the same POSTs from a raw pooled urllib3 client (the layer's) at the same
  concurrency, each answer read and parsed.

Each line on standard input is a JSON request ``{"recipients": [...], "body": "...",
"timeoutSeconds": 30}``; each answer a JSON line: ``wall`` and ``cpu`` seconds of the
invocation (``cpu``: the process's CPU time, every thread), ``sent``, ``peakKb`` (the growth of
the resident set's high-water mark), and for the connector the DynamoDB calls and write units.
"""

from __future__ import annotations

import json
import sys
import time


def peak_reset() -> int:
    """Reset the resident set's high-water mark; the resident set now (kB)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _status("VmRSS")


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Context:
    function_name = "SendSmsFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:SendSmsFunction"
    aws_request_id = "bench"

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def _item_kb(item: dict) -> int:
    """DynamoDB's billed size of an item, in 1 KB write units (names and values, UTF-8)."""
    size = sum(len(name) + len(json.dumps(value)) for name, value in item.items())
    return max(1, -(-size // 1024))


class WriteUnits:
    """The DynamoDB calls SEND_SMS makes and the write units they cost (a transaction's
    writes cost two units per KB, others one; an update is counted at its item's 1 KB). The
    hook only keeps each request's body; they are read after the invocation, off its clock."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []

    def __call__(self, model: object, params: dict, **kwargs: object) -> None:
        """botocore's ``before-call``: ``params`` is the request, its body the call's JSON."""
        self.requests.append((model.name, params["body"]))  # type: ignore[attr-defined]

    def take(self) -> dict:
        calls: dict[str, int] = {}
        units = reads = 0
        for name, body in self.requests:
            calls[name] = calls.get(name, 0) + 1
            params = json.loads(body or "{}")
            if name == "TransactWriteItems":
                for action in params["TransactItems"]:
                    ((kind, item),) = action.items()
                    units += 2 * (_item_kb(item["Item"]) if kind == "Put" else 1)
            elif name == "BatchWriteItem":
                for requests in params["RequestItems"].values():
                    units += sum(_item_kb(r["PutRequest"]["Item"]) for r in requests)
            elif name == "PutItem":
                units += _item_kb(params["Item"])
            elif name == "UpdateItem":
                units += 1
            elif name == "GetItem":
                reads += 1
        self.requests = []
        return {"dynamodbCalls": calls, "writeUnits": units, "readUnits": reads}


def connector(function_dir: str, layer_dir: str) -> None:
    sys.path[:0] = [function_dir, layer_dir]
    from app import lambda_handler

    from twilio_connector.aws import aws_client

    units = WriteUnits()
    aws_client("dynamodb").meta.events.register("before-call.dynamodb", units)
    for line in sys.stdin:
        request = json.loads(line)
        event = {"smsTo": request["recipients"], "smsBody": request["body"]}
        before = peak_reset()
        units.take()
        started, cpu = time.perf_counter(), time.process_time()
        try:
            result = lambda_handler(event, Context(request["timeoutSeconds"]))
            sent, error = len(result["smsResult"]), None
        except Exception as exc:  # a partial failure: its body says how many went out
            body = json.loads(str(exc))
            sent, error = body.get("sentCount") or 0, body["code"]
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        answer = {"wall": wall, "cpu": cpu, "sent": sent, "error": error}
        answer.update(peakKb=_status("VmHWM") - before, **units.take())
        print(json.dumps(answer), file=OUT, flush=True)


def floor(layer_dir: str, url: str, account: str, token: str, sender: str, workers: str) -> None:
    sys.path.insert(0, layer_dir)  # the layer's urllib3, as a hand-written handler would ship
    from base64 import b64encode
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlencode

    import urllib3

    concurrency = int(workers)
    pool = urllib3.PoolManager(maxsize=concurrency)
    endpoint = f"{url}/2010-04-01/Accounts/{account}/Messages.json"
    headers = {
        "Authorization": "Basic " + b64encode(f"{account}:{token}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    }

    def post(to: str, body: str) -> bool:
        answer = pool.request(
            "POST",
            endpoint,
            body=urlencode({"To": to, "From": sender, "Body": body}),
            headers=headers,
            timeout=urllib3.Timeout(connect=3.05, read=10),
            retries=False,
        )
        return answer.status == 201 and json.loads(answer.data)["sid"].startswith("SM")

    for line in sys.stdin:
        request = json.loads(line)
        before = peak_reset()
        started, cpu = time.perf_counter(), time.process_time()
        bodies = [request["body"]] * len(request["recipients"])
        with ThreadPoolExecutor(concurrency) as executor:  # per invocation, as SEND_SMS's
            sent = sum(executor.map(post, request["recipients"], bodies))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        answer = {"wall": wall, "cpu": cpu, "sent": sent, "error": None}
        print(json.dumps({**answer, "peakKb": _status("VmHWM") - before}), file=OUT, flush=True)


#: The answers' channel: the function's log and metric lines go to standard error.
OUT = sys.stdout

if __name__ == "__main__":
    sys.stdout = sys.stderr
    {"connector": connector, "floor": floor}[sys.argv[1]](*sys.argv[2:])
