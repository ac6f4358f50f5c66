"""``make invoke FN=SendSmsFunction EVENT=events/send_sms.json``: one function, one event,
offline, the way ``sam local invoke`` runs it, without Docker, an AWS account or a Twilio account.

The function runs as ``sam build`` packs it (see :mod:`local.lambda_runtime`) with the environment
template.yaml gives it (``PARAMS`` overrides the template's parameters, as ``sam deploy
--parameter-overrides`` would), against the offline stack (:mod:`local.offline`): moto for AWS,
the Twilio emulator for Twilio, the secret, table and queue in place. Status callbacks and inbound
webhooks reach the built inbound function through a local API Gateway. Standard output carries
the result alone (or the error, as Lambda reports it); standard error everything else: the
function's logs, how many status callbacks were waited for and how many arrived, the events the
connector put on the bus. ``EVENT`` ``-`` reads the event from standard input. Exit status: 0, 1
when the function raised, 2 for a usage error.

When an offline session runs (``make offline-start``, :mod:`local.session`), the event goes to it
and what earlier invocations did is still there (a message scheduled, an idempotency key used, a
webhook seen). ``STEPS=file.json`` runs a list of (function, event) pairs in order against the
same stand-ins; an event's key ending in ``.$`` takes its value from an earlier step's output, as
Step Functions' paths do (``"sid.$": "$.steps[0].messages[0].sid"``); ``$.time.now``,
``$.time.inOneHour`` and ``$.time.tomorrow`` are ISO 8601 instants (for ``sendAt``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from local.apigw import ApiGatewayAdapter
from local.lambda_loader import ROOT
from local.lambda_runtime import BuiltFunction, InvocationError
from local.offline import OfflineStack, offline_stack
from local.template import (
    Resolver,
    check_parameters,
    function_names,
    parse_parameter_overrides,
    template_environment,
)

INBOUND = "InboundSmsFunction"
#: The sample events in events/ and the function each is for.
SAMPLE_EVENTS = {
    "send_sms": "SendSmsFunction",
    "get_sms": "GetSmsFunction",
    "cancel_sms": "CancelSmsFunction",
    "list_sms": "ListSmsFunction",
    "make_call": "MakeCallFunction",
    "verify_start": "VerifyStartFunction",
    "verify_check": "VerifyCheckFunction",
    "lookup_phone": "LookupPhoneFunction",
    "campaign_settle": "CampaignFunction",
    "inbound_sms": INBOUND,
    "status_callback": INBOUND,
}
#: More events than this on the bus after one invocation are summarized, not listed.
EVENTS_LISTED = 20


class BuiltStack:
    """The built functions over an offline stack, each started on first use and kept warm, with
    the inbound function behind a local API Gateway (the target of Twilio's webhooks).
    ``parameters`` override the template's for every function; an invocation may override more
    (a function with other parameters is another execution environment)."""

    def __init__(
        self,
        offline: OfflineStack,
        build_dir: Path,
        logs: IO[str] | None = None,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.offline, self.build_dir, self.logs = offline, build_dir, logs
        self.parameters = dict(parameters or {})
        self.functions: dict[tuple[str, tuple[tuple[str, str], ...]], BuiltFunction] = {}
        self._lock = threading.Lock()
        self._build_time = self._built_at()
        self.api = ApiGatewayAdapter(self._through_api, context=None)

    def environment(
        self, logical_id: str, parameters: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The template's environment for the function, resolved for this stack, over the
        offline endpoints and credentials; the default status callback is the local API's
        /status."""
        values = {**self.offline.parameters(), **self.parameters, **(parameters or {})}
        resolver = Resolver(values, self.offline.resources)
        environment = template_environment(logical_id, resolver)
        if "STATUS_CALLBACK_URL" in environment:
            environment["STATUS_CALLBACK_URL"] = f"{self.api.url}/status"
        return {**self.offline.environment(), **environment}  # LogLevel=DEBUG is the template's

    def _built_at(self) -> float:
        """When ``make build-host`` last finished (its stamp), 0 without one."""
        try:
            return (self.build_dir / ".built").stat().st_mtime
        except OSError:
            return 0.0

    def function(self, logical_id: str, parameters: dict[str, str] | None = None) -> BuiltFunction:
        key = (logical_id, tuple(sorted((parameters or {}).items())))
        with self._lock:
            if (built_at := self._built_at()) != self._build_time:  # rebuilt: new environments
                self._build_time = built_at
                for function in self.functions.values():
                    function.stop()
                self.functions.clear()
            if key not in self.functions:
                self.functions[key] = BuiltFunction(
                    logical_id, self.build_dir, self.environment(logical_id, parameters), self.logs
                )
            return self.functions[key]

    def invoke(self, logical_id: str, event: Any, parameters: dict[str, str] | None = None) -> Any:
        return self.function(logical_id, parameters).invoke(event)

    def settle(self) -> dict[str, Any]:
        """Wait for the status callbacks queued so far; what arrived, and the events the
        connector put on the bus since the last call."""
        report = self.offline.emulator.drain_callbacks()
        return {
            "callbacks": {**asdict(report), "summary": report.summary()},
            "events": self.offline.events(),
        }

    def _through_api(self, event: dict[str, Any], context: object) -> dict[str, Any]:
        try:
            return self.invoke(INBOUND, event)
        except InvocationError:  # what API Gateway answers for a failed Lambda integration
            return {"statusCode": 502, "body": '{"message": "Internal server error"}'}

    def __enter__(self) -> BuiltStack:
        self.api.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.offline.emulator.drain_callbacks()
        self.api.__exit__()
        for function in self.functions.values():
            function.stop()


class Target(Protocol):
    """Where invocations run: stand-ins started for this command, or a running session."""

    def invoke(self, function: str, event: Any, parameters: dict[str, str]) -> tuple[Any, bool]: ...

    def settle(self) -> dict[str, Any]: ...


class LocalTarget:
    def __init__(self, built: BuiltStack) -> None:
        self.built = built

    def invoke(self, function: str, event: Any, parameters: dict[str, str]) -> tuple[Any, bool]:
        try:
            return self.built.invoke(function, event, parameters), False
        except InvocationError as error:
            return error.payload(), True

    def settle(self) -> dict[str, Any]:
        return self.built.settle()


# --- steps ----------------------------------------------------------------------------------------
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def select(document: Any, path: str) -> Any:
    """The value at a JSONPath of the ``$.a.b[0].c`` kind in ``document``."""
    if not path.startswith("$"):
        raise ValueError(f"{path!r} is not a path: it starts with $")
    position, value = 1, document
    while position < len(path):
        match = _PATH_PART.match(path, position)
        if match is None:
            raise ValueError(f"{path!r}: cannot read it from {path[position:]!r}")
        key, index = match.groups()
        try:
            value = value[key] if key is not None else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"{path!r}: nothing at {path[: match.end()]}") from None
        position = match.end()
    return value


def resolve_references(event: Any, document: dict[str, Any]) -> Any:
    """``event`` with every ``"key.$": "$.path"`` replaced by ``"key": <value at path>``."""
    if isinstance(event, list):
        return [resolve_references(item, document) for item in event]
    if not isinstance(event, dict):
        return event
    resolved = {}
    for key, value in event.items():
        if key.endswith(".$") and isinstance(value, str):
            resolved[key[:-2]] = select(document, value)
        else:
            resolved[key] = resolve_references(value, document)
    return resolved


def load_steps(source: str) -> list[dict[str, Any]]:
    """A steps file: a JSON list of ``{"function": <logical ID>, "event": <object, or the path
    of an event file>, "parameters": <optional overrides>}``."""
    steps = json.loads(Path(source).read_text())
    if not isinstance(steps, list) or not steps:
        raise ValueError("a steps file is a non-empty JSON list of {function, event}")
    for number, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("function") not in function_names():
            raise ValueError(
                f"step {number}: {{'function': <one of {', '.join(function_names())}>, 'event'}}"
            )
        if isinstance(step.get("event"), str):
            step["event"] = json.loads((ROOT / step["event"]).read_text())
        step.setdefault("event", {})
        parameters = step.get("parameters") or {}
        if isinstance(parameters, str):
            step["parameters"] = parse_parameter_overrides(parameters)
        else:
            step["parameters"] = {name: str(value) for name, value in parameters.items()}
            check_parameters(step["parameters"])
    return steps


def time_document() -> dict[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    iso = lambda moment: moment.isoformat().replace("+00:00", "Z")  # noqa: E731
    return {
        "now": iso(now),
        "inOneHour": iso(now + timedelta(hours=1)),
        "tomorrow": iso(now + timedelta(days=1)),
    }


# --- output ---------------------------------------------------------------------------------------
def report_settled(settled: dict[str, Any], out: IO[str]) -> None:
    """What happened after an invocation, on standard error."""
    callbacks = settled["callbacks"]
    if callbacks["expected"]:
        print(f"status callbacks: {callbacks['summary']}", file=out)
    events = settled["events"]
    if len(events) <= EVENTS_LISTED:
        for published in events:
            print(f"event on the bus: {published['detail-type']} "
                  f"{json.dumps(published['detail'])}", file=out)  # fmt: skip
        return
    kinds = Counter(published["detail-type"] for published in events)
    counted = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"events on the bus: {len(events)} ({counted}); the first {EVENTS_LISTED}:", file=out)
    for published in events[:EVENTS_LISTED]:
        print(f"  {published['detail-type']} {json.dumps(published['detail'])}", file=out)


def run(target: Target, steps: list[dict[str, Any]], single: bool) -> int:
    outputs, failures = [], 0
    for number, step in enumerate(steps):
        document = {"steps": [output["output"] for output in outputs], "time": time_document()}
        try:
            event = resolve_references(step["event"], document)
        except ValueError as error:
            print(f"step {number} ({step['function']}): {error}", file=sys.stderr)
            return 2
        if not single:
            print(f"step {number}: {step['function']}", file=sys.stderr)
        output, failed = target.invoke(step["function"], event, step["parameters"])
        failures += failed
        if single:
            print(json.dumps(output, indent=2), flush=True)
        outputs.append({"function": step["function"], "failed": failed, "output": output})
        report_settled(target.settle(), sys.stderr)
    if not single:
        print(json.dumps(outputs, indent=2), flush=True)
    return 1 if failures else 0


def _read_event(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        return json.loads(text)
    except (OSError, ValueError) as error:
        where = "standard input" if source == "-" else source
        raise ValueError(f"cannot read the event from {where}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    from local import session

    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "function", nargs="?", help=f"a function's logical ID: {', '.join(function_names())}"
    )
    parser.add_argument("event", nargs="?", default="-", help="event file, or - for stdin")
    parser.add_argument("--build-dir", type=Path, required=True, help="the host build")
    parser.add_argument(
        "--parameter-overrides", default="", help="Name=Value ... (sam deploy's syntax)"
    )
    parser.add_argument("--steps", help="a JSON list of {function, event}, run in order")
    parser.add_argument(
        "--session-file",
        type=Path,
        default=session.STATE_FILE,
        help="where a running offline session is described",
    )
    parser.add_argument("--no-session", action="store_true", help="ignore a running session")
    args = parser.parse_args(argv)
    try:
        parameters = parse_parameter_overrides(args.parameter_overrides)
        if args.steps:
            steps = load_steps(args.steps)
        else:
            if args.function not in function_names():
                parser.error(
                    f"no function {args.function!r}: choose one of {', '.join(function_names())}"
                )
            steps = [{"function": args.function, "event": _read_event(args.event)}]
            steps[0]["parameters"] = {}
    except (OSError, ValueError) as error:
        parser.error(str(error))
    recorded = not args.no_session and args.session_file.exists()
    client = None if args.no_session else session.SessionClient.find(args.session_file)
    if recorded and client is None:
        print(f"The offline session {args.session_file} describes does not answer: "
              "this invocation gets stand-ins of its own (`make offline-start` for a new "
              "session).", file=sys.stderr)  # fmt: skip
    if client is not None:
        what = args.function if not args.steps else f"the {len(steps)} steps of {args.steps}"
        print(f"Invoking {what} in the offline session at {client.url} (the functions' logs: "
              f"{client.info['log']})", file=sys.stderr)  # fmt: skip
        for step in steps:  # the session's inbound function keeps the session's parameters
            step["parameters"] = {**parameters, **step["parameters"]}
        try:
            return run(client, steps, single=not args.steps)
        except OSError as error:
            print(f"The offline session at {client.url} stopped answering ({error}); "
                  f"its log: {client.info['log']}", file=sys.stderr)  # fmt: skip
            return 1
    with ExitStack() as stack:
        offline = stack.enter_context(offline_stack())
        try:
            built = stack.enter_context(BuiltStack(offline, args.build_dir, None, parameters))
            for step in steps:  # a missing build is a usage error, before anything runs
                built.function(step["function"], step["parameters"])
        except FileNotFoundError as error:
            print(error, file=sys.stderr)
            return 2
        what = args.function if not args.steps else f"the {len(steps)} steps of {args.steps}"
        print(f"Invoking {what} (offline: moto {offline.moto_url}, Twilio emulator "
              f"{offline.emulator.url})", file=sys.stderr)  # fmt: skip
        return run(LocalTarget(built), steps, single=not args.steps)


if __name__ == "__main__":
    sys.exit(main())
