"""``make invoke FN=SendSmsFunction EVENT=events/send_sms.json``: one function, one event,
offline, the way ``sam local invoke`` runs it, without Docker, an AWS account or a Twilio account.

The function runs as ``sam build`` packs it (see :mod:`local.runtime`) with the environment
template.yaml gives it, against the offline stack (:mod:`local.offline`): moto for AWS, the Twilio
emulator for Twilio, the secret, table and queue in place. Status callbacks and inbound webhooks
reach the built inbound function through a local API Gateway. The function's logs go to standard
error; its result (or its error, as Lambda reports it) to standard output; then, on standard
error, the events the connector put on the bus. ``EVENT`` ``-`` reads the event from standard
input. Exit status: 0, 1 when the function raised, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from local.apigw import ApiGatewayAdapter
from local.offline import OfflineStack, offline_stack
from local.runtime import BuiltFunction, InvocationError
from local.template import Resolver, function_names, template_environment

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
    "inbound_sms": INBOUND,
    "status_callback": INBOUND,
}


class BuiltStack:
    """The built functions over an offline stack, each started on first use and kept warm, with
    the inbound function behind a local API Gateway (the target of Twilio's webhooks)."""

    def __init__(self, offline: OfflineStack, build_dir: Path, logs: IO[str] | None = None) -> None:
        self.offline, self.build_dir, self.logs = offline, build_dir, logs
        self.functions: dict[str, BuiltFunction] = {}
        self.api = ApiGatewayAdapter(self._through_api, context=None)

    def environment(self, logical_id: str) -> dict[str, str]:
        """The template's environment for the function, resolved for this stack, with the
        offline endpoints; the default status callback is the local API's /status."""
        resolver = Resolver(self.offline.parameters(), self.offline.resources)
        environment = template_environment(logical_id, resolver)
        if "STATUS_CALLBACK_URL" in environment:
            environment["STATUS_CALLBACK_URL"] = f"{self.api.url}/status"
        return {**environment, **self.offline.environment()}

    def function(self, logical_id: str) -> BuiltFunction:
        if logical_id not in self.functions:
            self.functions[logical_id] = BuiltFunction(
                logical_id, self.build_dir, self.environment(logical_id), self.logs
            )
        return self.functions[logical_id]

    def invoke(self, logical_id: str, event: Any) -> Any:
        return self.function(logical_id).invoke(event)

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


def _read_event(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("function", help=f"a function's logical ID: {', '.join(function_names())}")
    parser.add_argument("event", nargs="?", default="-", help="event file, or - for stdin")
    parser.add_argument("--build-dir", type=Path, required=True, help="the host build")
    args = parser.parse_args(argv)
    if args.function not in function_names():
        parser.error(f"no function {args.function!r}: choose one of {', '.join(function_names())}")
    try:
        event = _read_event(args.event)
    except (OSError, ValueError) as error:
        parser.error(f"cannot read the event from {args.event}: {error}")

    with ExitStack() as stack:
        offline = stack.enter_context(offline_stack())
        built = stack.enter_context(BuiltStack(offline, args.build_dir))
        print(f"Invoking {args.function} (offline: moto {offline.moto_url}, Twilio emulator "
              f"{offline.emulator.url})", file=sys.stderr)  # fmt: skip
        try:
            result, failed = built.invoke(args.function, event), False
        except InvocationError as error:
            result, failed = error.payload(), True
        except FileNotFoundError as error:
            print(error, file=sys.stderr)
            return 2
        print(json.dumps(result, indent=2))
        offline.emulator.drain_callbacks()
        for published in offline.events():
            print(f"event on the bus: {published['detail-type']} "
                  f"{json.dumps(published['detail'])}", file=sys.stderr)  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
