"""moto in server mode with its Step Functions interpreter executing the state machines, and what
it lacks for this project's workflows, filled in (local only, never deployed):

- Lambda ``Invoke`` runs the function's ``sam build`` artifact and layers in warm awslambdaric
  subprocesses (``local.lambda_runtime``) instead of Docker: the function name is the template's
  logical ID, the environment is the one the function was created with.
- EventBridge rules whose target is a state machine start an execution with the target's input
  transformer applied (moto's ``EventTemplateParser``; moto has no Step Functions targets).
- Distributed Map: the ResultWriter's ``Parameters`` read the state's input (not its results);
  ``ToleratedFailurePercentage`` / ``ToleratedFailureCount`` (moto fails the map
  on the first failed item) ending in ``States.ExceedToleratedFailureThreshold``, and the
  ``ResultWriter``'s result files (``SUCCEEDED_0.json``, ``FAILED_0.json`` beside the manifest,
  in AWS's format: each item's ``Input``, ``Output`` or ``Error`` / ``Cause``).
- ``SendTaskFailure`` keeps its ``cause`` (moto drops it).
- ``RedriveExecution`` of a failed execution: it runs again under the same execution ARN
  (``$$.Execution.Id``), from its start, where AWS restarts from the failed state (the
  campaign's first state is its Map); a Distributed Map runs again only the items that did not
  succeed, as a Map Run redrive does.

- A simulated clock (``make campaign-sim``): while the file ``LOCAL_SIM_CLOCK_FILE`` names holds
  a JSON ``{"real", "simulated", "speed"}`` (written by the simulation: the emulator's clock), Wait
  states wait on that clock: a ``Timestamp`` is compared with the simulated time, and every
  wait lasts its simulated seconds / speed. moto's own Wait compares a UTC timestamp with the
  local naive time and waits whole seconds; here the wait is to the fraction of a second.
- Usage counters (``LOCAL_SIM_COUNTS_FILE``): states entered, Lambda invocations with their
  duration and memory, DynamoDB write and read units, written to that file every second.

Run: ``python -m local.moto_sfn --port N --build-dir .aws-sam/build --log FILE``; it prints
``ready`` once serving and stops when its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from local.lambda_runtime import FunctionPool, FunctionSpec
from local.moto_version import UnsupportedMotoVersion, check_moto_version

_POOLS: dict[str, FunctionPool] = {}
_POOLS_LOCK = threading.Lock()
_SETTINGS: dict[str, Any] = {}


def _layers_of(template: dict, logical_id: str, build_dir: Path) -> tuple[Path, ...]:
    props = template["Resources"][logical_id]["Properties"]
    layers = props.get("Layers") or template["Globals"]["Function"].get("Layers", [])
    return tuple(build_dir / layer["Ref"] / "python" for layer in layers)


def _pool_for(function: Any) -> FunctionPool:
    """The warm workers of a moto Lambda function, created on its first invocation."""
    from local.template import load_template

    with _POOLS_LOCK:
        pool = _POOLS.get(function.function_arn)
        if pool is None:
            template, build_dir = load_template(), Path(_SETTINGS["build_dir"]).resolve()
            name = function.function_name
            if name not in template["Resources"]:
                raise KeyError(f"{name} is not a function of template.yaml")
            environment = {k: str(v) for k, v in (function.environment_vars or {}).items()}
            spec = FunctionSpec(
                name=name,
                handler=function.handler,
                code_dir=build_dir / name,
                layer_dirs=_layers_of(template, name, build_dir),
                environment={
                    "AWS_REGION": function.region,
                    "AWS_DEFAULT_REGION": function.region,
                    "AWS_ENDPOINT_URL": _SETTINGS["endpoint"],
                    **environment,
                },
                timeout=float(function.timeout),
                memory_mb=int(function.memory_size),
                arn=function.function_arn,
            )
            pool = _POOLS[function.function_arn] = FunctionPool(
                spec, _SETTINGS["log"], _SETTINGS["max_workers"]
            )
    return pool


def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    started = time.perf_counter()
    payload, errored = _pool_for(self).invoke(json.dumps(event or {}).encode())
    if _COUNTS is not None:
        seconds = time.perf_counter() - started
        with _COUNTS_LOCK:
            entry = _COUNTS["lambda"].setdefault(
                self.function_name, {"requests": 0, "seconds": 0.0, "memory_mb": 0}
            )
            entry["requests"] += 1
            entry["seconds"] += seconds
            entry["memory_mb"] = int(self.memory_size)
    return payload.decode(), errored, ""


# --- the simulated clock and the usage counters (make campaign-sim) ------------------------------
_COUNTS: dict[str, Any] | None = None
_COUNTS_LOCK = threading.Lock()


def _count(kind: str, n: float = 1) -> None:
    if _COUNTS is not None:
        with _COUNTS_LOCK:
            _COUNTS[kind] = _COUNTS.get(kind, 0) + n


def _sim_clock() -> tuple[float, float, float] | None:
    """(real, simulated, speed) of the simulated clock, or None: real time."""
    path = os.environ.get("LOCAL_SIM_CLOCK_FILE")
    if not path:
        return None
    try:
        clock = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return float(clock["real"]), float(clock["simulated"]), float(clock["speed"]) or 1.0


def _timestamp_wait_seconds(self: Any, env: Any) -> float:
    """Seconds (simulated, when the clock is) until the state's timestamp."""
    from datetime import UTC, datetime

    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEventException,
    )

    self.string.eval(env=env)
    text = env.stack.pop()
    try:
        target = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        target = None
    if target is None or target.tzinfo is None:
        raise FailureEventException(self._create_failure_event(env, text))
    clock = _sim_clock()
    now = time.time()
    if clock is not None:
        real, simulated, speed = clock
        now = simulated + (now - real) * speed
    return target.astimezone(UTC).timestamp() - now


def _wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
    """Wait ``wait_seconds`` (simulated: divided by the clock's speed), to the fraction."""
    clock = _sim_clock()
    if clock is not None:
        wait_seconds = wait_seconds / clock[2]
    deadline = time.monotonic() + wait_seconds
    while env.is_running():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        env.program_state_event.wait(left)


def _state_eval_body(original):
    def eval_body(self: Any, env: Any) -> None:
        _count("state_transitions")
        return original(self, env)

    return eval_body


def _dynamodb_counted(original, kind: str, units: Any):
    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        _count(kind, units(args, kwargs, result))
        return result

    return counted


def _install_counters() -> None:
    global _COUNTS
    path = os.environ.get("LOCAL_SIM_COUNTS_FILE")
    if not path:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    _COUNTS = {"lambda": {}, "state_transitions": 0, "dynamodb_write_units": 0,
               "dynamodb_read_units": 0}  # fmt: skip
    CommonStateField._eval_body = _state_eval_body(CommonStateField._eval_body)
    one = lambda *_: 1  # noqa: E731
    for name in ("put_item", "update_item", "delete_item"):
        method = getattr(DynamoDBBackend, name)
        setattr(DynamoDBBackend, name, _dynamodb_counted(method, "dynamodb_write_units", one))
    # a transactional write costs two units an item: the second of each action
    DynamoDBBackend.transact_write_items = _dynamodb_counted(
        DynamoDBBackend.transact_write_items,
        "dynamodb_write_units",
        lambda args, kwargs, _: len(args[0] if args else kwargs["transact_items"]),
    )
    DynamoDBBackend.get_item = _dynamodb_counted(
        DynamoDBBackend.get_item, "dynamodb_read_units", one
    )
    DynamoDBBackend.query = _dynamodb_counted(
        DynamoDBBackend.query,
        "dynamodb_read_units",
        lambda args, kwargs, result: max(1, len(result[0])) if isinstance(result, tuple) else 1,
    )

    def dump() -> None:
        while True:
            with _COUNTS_LOCK:
                text = json.dumps(_COUNTS)
            Path(path).write_text(text)
            time.sleep(0.5)

    threading.Thread(target=dump, daemon=True).start()


def _create_function(original):
    """A new function is ``Pending`` until its first worker has initialised, then ``Active``
    (``Failed`` if its initialisation failed), as Lambda reports it."""

    def create_function(self, spec: dict[str, Any]) -> Any:
        function = original(self, spec)
        function.state = "Pending"

        def warm() -> None:
            function.state = "Active" if _pool_for(function).prestart() else "Failed"

        threading.Thread(target=warm, daemon=True).start()
        return function

    return create_function


def _send_to_targets(original):
    from moto.events.models import EventTemplateParser
    from moto.stepfunctions.responses import get_backend
    from moto.utilities.arns import parse_arn

    def send_to_targets(self, original_event: dict, transform_input: bool = True) -> None:
        machines = [t for t in self.targets if parse_arn(t["Arn"]).service == "states"]
        if machines and self.event_pattern.matches_event(original_event):
            for target in machines:
                transformer = target.get("InputTransformer", {})
                execution_input = EventTemplateParser.parse(
                    input_template=transformer.get("InputTemplate"),
                    input_paths_map=transformer.get("InputPathsMap", {}),
                    event=original_event,
                )
                arn = parse_arn(target["Arn"])
                backend = get_backend(arn.account, arn.region)
                name = str(uuid.uuid4())
                backend.start_execution(target["Arn"], name, json.dumps(execution_input))
        others = [t for t in self.targets if t not in machines]
        if others:
            rule = object.__new__(type(self))
            rule.__dict__.update(self.__dict__)
            rule.targets = others
            original(rule, original_event, transform_input)

    return send_to_targets


_FAILED = "__item_failed__"
_current = threading.local()  # the map run being set up in this thread
#: Items that succeeded, per map run (execution ARN and Map state): a redrive skips them.
_SUCCEEDED: dict[str, dict[int, Any]] = {}


def _eval_job(original):
    """moto gives a failed item the output ``None`` and goes on; here it is marked as failed."""
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError

    def eval_job(self, env, job) -> None:
        original(self, env, job)
        state = env.program_state()
        if isinstance(state, ProgramError):
            error = state.error or {}
            job.job_output = {_FAILED: {"Error": error.get("error"), "Cause": error.get("cause")}}

    return eval_job


class _ToleratingJobPool:
    """moto's JobPool, with the failed items counted against the tolerated count or percentage:
    under it, the others go on; past it, the map fails."""

    def __init__(self, pool: Any, tolerated_count: int, tolerated_percentage: float) -> None:
        self.pool, self.failures = pool, []
        self.tolerated_count, self.tolerated_percentage = tolerated_count, tolerated_percentage

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

    def _exceeded(self) -> bool:
        failed, total = len(self.failures), self.pool._jobs_number or 1
        over_count = self.tolerated_count > 0 and failed > self.tolerated_count
        return over_count or failed * 100.0 / total > self.tolerated_percentage

    def close_job(self, job: Any) -> None:
        output = job.job_output
        if isinstance(output, dict) and _FAILED in output:
            with self.pool._mutex:
                self.failures.append({"Input": json.dumps(job.job_input), **output[_FAILED]})
                exceeded = self._exceeded()
            if exceeded:
                job.job_output = _threshold_exceeded()
        self.pool.close_job(job)


def _job_pool(job_pool_class):
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import (
        JobClosed,
    )

    def job_pool(job_program, job_inputs):
        tolerance = getattr(_current, "tolerance", None)
        pool = job_pool_class(job_program, job_inputs)
        if tolerance is None:
            return pool
        done = _current.done
        pool._open_jobs[:] = [job for job in pool._open_jobs if job.job_index not in done]
        pool._closed_jobs.update(JobClosed(index, output) for index, output in done.items())
        _current.pool = _ToleratingJobPool(pool, *tolerance)
        _current.inputs = list(job_inputs)
        return _current.pool

    return job_pool


def _threshold_exceeded() -> Exception:
    """The map's failure once the failed items pass what it tolerates."""
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error_name = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
    error = error_name.error_name
    event = object.__new__(FailureEvent)
    event.state_name, event.source_event_id = None, 0
    event.error_name = error_name
    event.event_type = HistoryEventType.EvaluationFailed
    event.event_details = EventDetails(
        evaluationFailedEventDetails=EvaluationFailedEventDetails(
            error=error, cause="The specified tolerated failure threshold was exceeded"
        )
    )
    return FailureEventException(event)


def _map_run(original):
    def map_run(self, env, eval_input) -> None:
        percentage = eval_input.tolerated_failure_percentage or 0.0
        _current.tolerance = (eval_input.tolerated_failure_count or 0, percentage)
        execution = env.states.context_object.context_object_data["Execution"]["Id"]
        _current.done = done = _SUCCEEDED.setdefault(f"{execution}#{eval_input.state_name}", {})
        _current.pool = None
        try:
            original(self, env, eval_input)
        finally:
            _current.tolerance = None
            if _current.pool is not None:
                for closed in list(_current.pool.pool._closed_jobs):
                    output = closed.job_output
                    if not (isinstance(output, dict) and _FAILED in output):
                        done[closed.job_index] = output
        pool, inputs = _current.pool, _current.inputs
        outputs = env.stack.pop()
        results: dict[str, list] = {"SUCCEEDED": [], "FAILED": pool.failures}
        for index, output in enumerate(outputs):
            if not (isinstance(output, dict) and _FAILED in output):
                results["SUCCEEDED"].append(
                    {"Input": json.dumps(inputs[index]), "Output": json.dumps(output)}
                )
        eval_input.map_run_record.local_results = results
        env.stack.append([o for o in outputs if not (isinstance(o, dict) and _FAILED in o)])

    return map_run


def _put_object(original):
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    def put_object(env, resource_runtime_part, state_credentials):
        record = env.map_run_record_pool_manager.get_all()[-1]
        results = getattr(record, "local_results", {"SUCCEEDED": [], "FAILED": []})
        original(env, resource_runtime_part, state_credentials)
        written = env.stack[-1]["ResultWriterDetails"]
        s3 = boto_client_for(service="s3", region=resource_runtime_part.region)
        prefix = written["Key"].rsplit("/", 1)[0]
        manifest = json.loads(
            s3.get_object(Bucket=written["Bucket"], Key=written["Key"])["Body"].read()
        )
        for status, items in results.items():
            if items:
                key = f"{prefix}/{status}_0.json"
                s3.put_object(Bucket=written["Bucket"], Key=key, Body=json.dumps(items).encode())
                manifest["ResultFiles"][status].append({"Key": key, "Size": len(items)})
        s3.put_object(
            Bucket=written["Bucket"], Key=written["Key"], Body=json.dumps(manifest).encode()
        )

    return put_object


def _result_writer_eval_body(self: Any, env: Any) -> None:
    """The ResultWriter's Parameters are evaluated against the Map state's input (moto: against
    the Map's results, where ``$.bucket`` is not found)."""
    env.stack.pop()  # the results: written by _put_object from the map run's record
    env.stack.append(env.states.get_input())
    self.parargs.eval(env=env)
    self.resource_eval.eval_resource(env=env)


def _redrive_execution(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.api import ExecutionStatus

    arn = self._get_param("executionArn")
    execution = self.stepfunction_backend.describe_execution(arn)
    if execution.exec_status not in (
        ExecutionStatus.FAILED,
        ExecutionStatus.TIMED_OUT,
        ExecutionStatus.ABORTED,
    ):
        from moto.stepfunctions.parser.api import ExecutionNotRedrivable

        raise ExecutionNotRedrivable(f"Execution is {execution.exec_status}: not redrivable")
    execution.exec_worker = None
    execution.error = execution.cause = execution.stop_date = execution.output = None
    execution.start()
    return ActionResult({"redriveDate": execution.start_date})


def _send_task_failure(self: Any) -> Any:
    """moto's SendTaskFailure drops the ``cause``: here it reaches the execution, as in AWS."""
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def install_patches() -> None:
    """moto's internals replaced or wrapped (``UnsupportedMotoVersion`` for another moto than
    the one they were written for)."""
    check_moto_version("local.moto_sfn")
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.events.models import Rule
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (  # noqa: E501
        DistributedIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (  # noqa: E501
        DistributedItemProcessorWorker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (  # noqa: E501
        ResourceEvalS3,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import (  # noqa: E501
        ResultWriter,
    )
    from moto.stepfunctions.responses import StepFunctionResponse

    LambdaFunction._invoke_lambda = _invoke_lambda
    LambdaBackend.create_function = _create_function(LambdaBackend.create_function)
    Rule.send_to_targets = _send_to_targets(Rule.send_to_targets)
    DistributedIterationComponent._map_run = _map_run(DistributedIterationComponent._map_run)
    DistributedItemProcessorWorker._eval_job = _eval_job(DistributedItemProcessorWorker._eval_job)
    distributed_iteration_component.JobPool = _job_pool(distributed_iteration_component.JobPool)
    ResourceEvalS3._handle_put_object = staticmethod(_put_object(ResourceEvalS3._handle_put_object))
    ResultWriter._eval_body = _result_writer_eval_body
    StepFunctionResponse.redrive_execution = _redrive_execution
    StepFunctionResponse.send_task_failure = _send_task_failure
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import (
        Timestamp,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    Timestamp._get_wait_seconds = _timestamp_wait_seconds
    WaitFunction._wait_interval = _wait_interval
    _install_counters()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--log", required=True, help="where the functions' output goes")
    parser.add_argument("--max-workers", type=int, default=4, help="warm workers per function")
    args = parser.parse_args(argv)
    os.environ["MOTO_PORT"] = str(args.port)  # where the interpreter's own AWS calls go
    endpoint = f"http://127.0.0.1:{args.port}"
    _SETTINGS.update(
        build_dir=args.build_dir,
        log=open(args.log, "ab"),  # noqa: SIM115 (open for the process's life)
        max_workers=args.max_workers,
        endpoint=endpoint,
    )
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from local.moto_dynamodb import install

    try:
        install_patches()
        install()
    except UnsupportedMotoVersion as error:
        sys.exit(str(error))  # on the log, and LocalWorkflows shows it
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(
            f"{endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
        )
    ).read()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the parent closes it (or dies)
    finally:
        for pool in _POOLS.values():
            pool.stop()
        server.stop()


if __name__ == "__main__":
    main()
