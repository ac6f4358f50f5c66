"""Every shipped workflow, deployed offline as its two stacks deploy it, and executed for real.

``LocalWorkflows`` starts moto in server mode with its Step Functions interpreter on
(``local.moto_sfn``), creates what the connector's template.yaml creates (the secret, the
idempotency table, the dead-letter queue, every function with the environment the template
gives it), then what examples/template.yaml creates, with the connector's outputs as its
parameters as in a real deploy (the campaign bucket, the examples' tables, every state machine
with its ``DefinitionSubstitutions``, and the example rules with their input transformers), and
puts the API stand-in (``local.apigw``) in front of the inbound function, as the webhook URL
Twilio (the emulator) calls. Functions run as ``sam build`` packed them (``.aws-sam/build``: run
``make build`` first).

A new state machine in examples/template.yaml (an ``AWS::Serverless::StateMachine`` with a
``DefinitionUri`` in ``examples/statemachines/`` and its ``DefinitionSubstitutions``) is deployed
here with nothing to add: ``workflows.start("MyStateMachine", {...})`` runs it. A substitution
that names a new resource needs its local stand-in in ``_refs`` below.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from local.apigw import ApiGatewayAdapter
from local.lambda_loader import ROOT
from local.resources import (
    SECRET_ID,
    create_credentials_secret,
    function_environment,
    idempotency_table_definition,
)
from local.template import (
    EXAMPLES,
    PSEUDO_PARAMETERS,
    Resolver,
    examples_parameters,
    function_names,
    function_properties,
    load_template,
    state_machine_definition,
    state_machine_names,
    template_environment,
)
from local.twilio_emulator import TwilioEmulator

REGION, ACCOUNT = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/local-workflows"
TABLE, QUEUE, BUCKET = "local-idempotency", "local-inbound-dlq", "local-campaigns"
#: The example rule's trigger (template parameters TriggerName / TriggerPattern).
TRIGGER = {"TriggerName": "order-number", "TriggerPattern": "Order Number (?<orderNumber>\\d+)"}
FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalWorkflows:
    """``with LocalWorkflows(emulator) as w: w.wait(w.start("ExampleSendSmsStateMachine", {...}))``.

    ``environment`` is put over every function's template environment (tests shorten the
    Twilio client's backoff with it); ``parameters`` over the templates' parameter defaults (the
    connector's, and the examples' own; the examples' others are the connector's outputs)."""

    def __init__(
        self,
        emulator: TwilioEmulator,
        build_dir: Path | None = None,
        environment: dict[str, str] | None = None,
        parameters: dict[str, str] | None = None,
        max_workers: int = 4,
    ) -> None:
        # make test / make demo: the build for this machine (`make build-host`); else sam build's
        build_dir = build_dir or Path(os.environ.get("BUILT_FUNCTIONS") or ROOT / ".aws-sam/build")
        build_dir = (ROOT / build_dir).resolve()  # (the workers run in their own directories)
        if not (build_dir / "ConnectorLayer" / "python" / "twilio_connector").is_dir():
            raise RuntimeError(f"{build_dir} holds no built layer: run `make build` first")
        self.emulator, self.build_dir, self.max_workers = emulator, build_dir, max_workers
        self.environment, self.parameters = environment or {}, parameters or {}
        self.log_path = Path(tempfile.mkstemp(prefix="local-workflows-", suffix=".log")[1])
        # a simulated clock for the Wait states, when written (local.campaign_sim), and the
        # interpreter's usage counters (local.moto_sfn)
        self.clock_file = self.log_path.with_suffix(".clock.json")
        self.counts_file = self.log_path.with_suffix(".counts.json")
        self._log = self.log_path.open("ab")
        self.machines: dict[str, str] = {}  # logical ID -> state machine ARN
        self._process: subprocess.Popen | None = None
        self._api: ApiGatewayAdapter | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalWorkflows:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(  # noqa: S603 (our own module)
            [
                sys.executable,
                "-m",
                "local.moto_sfn",
                "--port",
                str(port),
                "--log",
                str(self.log_path),
                "--build-dir",
                str(self.build_dir),
                "--max-workers",
                str(self.max_workers),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "LOCAL_SIM_CLOCK_FILE": str(self.clock_file),
                "LOCAL_SIM_COUNTS_FILE": str(self.counts_file),
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        if self._process.stdout is None or self._process.stdout.readline().strip() != "ready":
            self.__exit__()
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"moto did not start (see {self.log_path}): {''.join(tail)}")
        try:
            self._api = ApiGatewayAdapter(self._invoke_api, None).__enter__()
            self._deploy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._api is not None:
            self._api.__exit__()
        if self._process is not None:
            if self._process.stdin:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
        for path in (self.clock_file, self.counts_file):
            path.unlink(missing_ok=True)

    def set_clock(self, real: float, simulated: float, speed: float) -> None:
        """Wait states wait on this clock: ``simulated`` at ``real`` (epoch seconds), ``speed``
        simulated seconds a real second."""
        self.clock_file.write_text(
            json.dumps({"real": real, "simulated": simulated, "speed": speed})
        )

    def real_clock(self) -> None:
        self.clock_file.unlink(missing_ok=True)

    def usage(self) -> dict[str, Any]:
        """The interpreter's usage counters so far (local.moto_sfn), as last written."""
        try:
            return json.loads(self.counts_file.read_text())
        except (OSError, ValueError):
            return {"lambda": {}, "state_transitions": 0, "dynamodb_write_units": 0,
                    "dynamodb_read_units": 0}  # fmt: skip

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="offline",
            aws_secret_access_key="offline",
            config=Config(read_timeout=120, retries={"total_max_attempts": 1}),
        )

    @property
    def api_url(self) -> str:
        """The webhook API's base URL (``/sms``, ``/status``), as Twilio would call it."""
        assert self._api is not None
        return self._api.url

    # --- what the connector's and the examples' templates create ---------------------------------
    def _refs(self) -> dict[str, str]:
        sqs = self.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        refs = {
            "TwilioCredentialsSecret": SECRET_ID,
            "IdempotencyTable": TABLE,
            "IdempotencyTable.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}",
            "InboundDeadLetterQueue": queue_url,
            "InboundDeadLetterQueue.QueueName": QUEUE,
            "InboundApi": "local",
            "ExampleCampaignBucket": BUCKET,
        }
        for logical_id in function_names():
            refs[logical_id] = logical_id
            refs[f"{logical_id}.Arn"] = self.function_arn(logical_id)
            refs[f"{logical_id}Role.Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{logical_id}Role"
        for logical_id in _connector_tables() + _example_tables():  # under local names
            name = f"local-{logical_id}"
            refs[logical_id] = name
            refs[f"{logical_id}.Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        return refs

    @staticmethod
    def function_arn(logical_id: str) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"

    def _deploy(self) -> None:
        create_credentials_secret(self.client("secretsmanager"))
        self.client("dynamodb").create_table(TableName=TABLE, **idempotency_table_definition())
        self.client("sqs").create_queue(QueueName=QUEUE)
        self.client("s3").create_bucket(Bucket=BUCKET)
        self.client("iam").create_role(
            RoleName=ROLE.rsplit("/", 1)[1],
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        self._stand_ins = self._refs()
        example_resources = load_template(EXAMPLES)["Resources"]
        tables = {**load_template()["Resources"], **example_resources}
        for logical_id in _connector_tables() + _example_tables():
            properties = tables[logical_id]["Properties"]
            self.client("dynamodb").create_table(
                TableName=self._stand_ins[logical_id],
                **{k: properties[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode")},
            )
        self._parameter_values = {
            "TwilioApiUrl": self.emulator.url,
            "PublicWebhookUrl": self.api_url,
            **TRIGGER,
            **self.parameters,
        }
        # the connector's resolver (the functions), and the examples stack's (the state machines)
        resolver, self.resolver = self._resolvers({})
        offline = function_environment()
        for logical_id in function_names():
            props = function_properties(logical_id)
            environment = {**template_environment(logical_id, resolver), **offline}
            environment.update(self.environment)
            self.client("lambda").create_function(
                FunctionName=logical_id,
                Runtime=props["Runtime"],
                Role=ROLE,
                Handler=props["Handler"],
                Code={"ZipFile": _placeholder_zip()},
                Timeout=int(props["Timeout"]),
                MemorySize=int(props["MemorySize"]),
                Environment={"Variables": environment},
            )
        self._wait_until_active(function_names())
        for logical_id in state_machine_names():
            condition = example_resources[logical_id].get("Condition")
            if condition is None or self.resolver.condition(condition):
                self._deploy_state_machine(logical_id, example_resources[logical_id]["Properties"])

    def _resolvers(self, overrides: dict[str, str]) -> tuple[Resolver, Resolver]:
        """The connector's resolver and the examples': the examples stack's parameters are the
        connector's outputs of the same names, then its own (``overrides`` over both)."""
        values = {**self._parameter_values, **overrides}
        connector_names = set(load_template()["Parameters"])
        example_names = set(load_template(EXAMPLES)["Parameters"]) - connector_names
        unknown = set(values) - connector_names - example_names
        if unknown:
            raise KeyError(f"neither template has the parameters {sorted(unknown)}")
        connector = Resolver(
            {k: v for k, v in values.items() if k in connector_names}, self._stand_ins
        )
        examples = {
            **examples_parameters(connector),
            **{k: v for k, v in values.items() if k in example_names},
        }
        return connector, Resolver(examples, self._stand_ins, EXAMPLES)

    def _wait_until_active(self, functions: list[str], timeout: float = 180) -> None:
        """Lambda's ``Pending`` -> ``Active``: here, until each function's first worker has
        initialised (imported its handler), so that no test pays a cold start."""
        deadline, waiting = time.monotonic() + timeout, set(functions)
        while waiting:
            for name in sorted(waiting):
                state = self.client("lambda").get_function(FunctionName=name)["Configuration"]
                if state["State"] == "Failed":
                    raise RuntimeError(f"{name} failed to initialise (see {self.log_path})")
                if state["State"] != "Pending":
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"{sorted(waiting)} still Pending (see {self.log_path})")
            time.sleep(0.1)

    def deploy_variant(self, logical_id: str, variant: str, parameters: dict[str, str]) -> str:
        """One more copy of a state machine, deployed with other template parameters (say a
        shorter timeout, or the connector's TwilioConcurrency that its outputs pass on), under
        the key ``variant``; its ARN."""
        _connector, resolver = self._resolvers(parameters)
        definition = state_machine_definition(logical_id, resolver)
        arn = self.client("stepfunctions").create_state_machine(
            name=variant, definition=definition, roleArn=ROLE
        )["stateMachineArn"]
        self.machines[variant] = arn
        return arn

    def _deploy_state_machine(self, logical_id: str, props: dict[str, Any]) -> None:
        resolver = self.resolver
        definition = state_machine_definition(logical_id, resolver)
        name = resolver.resolve(props.get("Name", logical_id))
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=ROLE
        )["stateMachineArn"]
        self.machines[logical_id] = arn
        for event_id, event in (props.get("Events") or {}).items():
            if event["Type"] != "EventBridgeRule":
                raise NotImplementedError(f"{logical_id}.{event_id}: {event['Type']} events")
            spec = resolver.resolve(event["Properties"])
            bus = spec.get("EventBusName", "default")
            rule = f"{logical_id}-{event_id}"
            events = self.client("events")
            events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(spec["Pattern"]))
            target = {"Id": "StateMachine", "Arn": arn, "RoleArn": ROLE}
            if "InputTransformer" in spec:
                target["InputTransformer"] = spec["InputTransformer"]
            events.put_targets(Rule=rule, EventBusName=bus, Targets=[target])

    # --- the API stand-in ------------------------------------------------------------------------
    def _invoke_api(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """API Gateway's Lambda proxy integration: the inbound function, through Lambda."""
        answer = self.invoke("InboundSmsFunction", event)
        if "statusCode" not in answer:  # the function failed: API Gateway answers 502
            return {"statusCode": 502, "body": '{"message": "Internal server error"}'}
        return answer

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """One function's answer to ``event`` (its error's payload, when it failed)."""
        response = self.client("lambda").invoke(
            FunctionName=logical_id, Payload=json.dumps(event).encode()
        )
        return json.loads(response["Payload"].read() or b"null")

    # --- executions ------------------------------------------------------------------------------
    def start(
        self, logical_id: str, execution_input: dict[str, Any], name: str | None = None
    ) -> str:
        """Start an execution of a deployed state machine; its ARN."""
        return self.client("stepfunctions").start_execution(
            stateMachineArn=self.machines[logical_id],
            name=name or uuid.uuid4().hex,
            input=json.dumps(execution_input),
        )["executionArn"]

    def describe(self, execution_arn: str) -> dict[str, Any]:
        return self.client("stepfunctions").describe_execution(executionArn=execution_arn)

    def wait(self, execution_arn: str, timeout: float = 60, until: tuple[str, ...] = FINAL) -> dict:
        """The execution once its status is one of ``until`` (by default: it ended)."""
        deadline = time.monotonic() + timeout
        while True:
            described = self.describe(execution_arn)
            if described["status"] in until:
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still {described['status']} after {timeout}s")
            time.sleep(0.05)

    def wait_for_event(self, execution_arn: str, event_type: str, timeout: float = 30) -> dict:
        """The first history event of ``event_type`` (e.g. ``TaskSubmitted``), once it happens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.history(execution_arn):
                if event["type"] == event_type:
                    return event
            time.sleep(0.05)
        raise TimeoutError(f"no {event_type} in {execution_arn} after {timeout}s")

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn, events, token = self.client("stepfunctions"), [], None
        while True:
            page = sfn.get_execution_history(
                executionArn=execution_arn,
                maxResults=1000,
                **({"nextToken": token} if token else {}),
            )
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def output(self, execution_arn: str) -> object:
        """A succeeded execution's output, from its ``ExecutionSucceeded`` event."""
        for event in reversed(self.history(execution_arn)):
            if event["type"] == "ExecutionSucceeded":
                return json.loads(event["executionSucceededEventDetails"]["output"])
        raise ValueError(f"{execution_arn} has not succeeded")

    def failure(self, execution_arn: str) -> tuple[str | None, str | None]:
        """A failed execution's error and cause, from its ``ExecutionFailed`` event."""
        for event in reversed(self.history(execution_arn)):
            if event["type"] == "ExecutionFailed":
                details = event.get("executionFailedEventDetails", {})
                return details.get("error"), details.get("cause")
        return None, None

    def forget_opt_outs(self) -> None:
        """Empty ``OptOutTable`` (a 21610 refusal or a STOP of one test is not the next's)."""
        dynamodb, table = self.client("dynamodb"), self._stand_ins["OptOutTable"]
        for item in dynamodb.scan(TableName=table)["Items"]:
            key = {name: item[name] for name in ("sender", "recipient")}
            dynamodb.delete_item(TableName=table, Key=key)

    def redrive(self, execution_arn: str) -> None:
        self.client("stepfunctions").redrive_execution(executionArn=execution_arn)

    def executions(self, logical_id: str) -> list[dict[str, Any]]:
        return self.client("stepfunctions").list_executions(
            stateMachineArn=self.machines[logical_id]
        )["executions"]

    def function_log(self) -> str:
        """Everything the functions wrote (their structured logs), for a failing test's report."""
        return self.log_path.read_text(errors="replace")


def _connector_tables() -> list[str]:
    """template.yaml's DynamoDB tables besides the idempotency table (the opt-outs')."""
    return [
        logical_id
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table" and logical_id != "IdempotencyTable"
    ]


def _example_tables() -> list[str]:
    """examples/template.yaml's DynamoDB tables."""
    return [
        logical_id
        for logical_id, resource in load_template(EXAMPLES)["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    ]


def _placeholder_zip() -> bytes:
    """moto wants code; the functions run from ``.aws-sam/build`` (see local.moto_sfn)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "runs from .aws-sam/build\n")
    return buffer.getvalue()


def summarize(history: list[dict[str, Any]]) -> list[str]:
    """An execution's history, one line per step, for a person to read at a glance."""
    lines, start = [], None
    for event in history:
        moment = event["timestamp"]
        start = start or moment
        offset = (moment - start).total_seconds()
        kind = event["type"]
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        if kind.endswith("StateEntered"):
            text = f"-> {details.get('name')}"
        elif kind.endswith("StateExited"):
            continue
        elif "error" in details:
            cause = str(details.get("cause", ""))
            text = f"{kind}: {details['error']}" + (f" ({cause[:90]})" if cause else "")
        elif kind == "TaskSubmitted":
            text = "TaskSubmitted: waiting for its task token"
        elif kind in ("TaskSucceeded", "ExecutionSucceeded"):
            text = f"{kind}: {str(details.get('output', ''))[:110]}"
        else:
            text = kind
        lines.append(f"{offset:7.2f}s  {text}")
    return lines
