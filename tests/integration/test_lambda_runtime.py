"""local.lambda_runtime, the one runner of built functions, on a function of its own (no build
needed): what Lambda does that the tests, ``make invoke`` and the workflows rely on."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from local.lambda_runtime import FunctionPool, FunctionSpec

HANDLER = """
import os, time

time.sleep(float(os.environ.get("INIT_SLEEP", "0")))  # a cold start's imports
INVOCATIONS = 0


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    if "sleep" in event:
        time.sleep(event["sleep"])
    if "exit" in event:
        os._exit(event["exit"])
    if "raise" in event:
        raise ValueError(event["raise"])
    names = ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
             "LAMBDA_TASK_ROOT", "_HANDLER", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_VERSION")
    print("a log line")
    return {
        "invocations": INVOCATIONS,
        "pid": os.getpid(),
        "remaining": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
        "variables": {name: os.environ.get(name) for name in names},
    }
"""


@pytest.fixture
def pool(tmp_path: Path, request: pytest.FixtureRequest):
    code = tmp_path / "Function"
    code.mkdir()
    (code / "app.py").write_text(textwrap.dedent(HANDLER))
    log = (tmp_path / "function.log").open("wb")
    timeout, init_sleep = getattr(request, "param", (1.0, 0))
    spec = FunctionSpec(
        name="ProbeFunction",
        handler="app.handler",
        code_dir=code,
        layer_dirs=(),
        environment={"AWS_DEFAULT_REGION": "eu-west-1", "INIT_SLEEP": str(init_sleep)},
        timeout=timeout,
        memory_mb=512,
        arn="arn:aws:lambda:eu-west-1:123456789012:function:ProbeFunction",
    )
    pool = FunctionPool(spec, log, max_workers=1)
    pool.log_path = tmp_path / "function.log"
    yield pool
    pool.stop()
    log.close()


def invoke(pool: FunctionPool, event: dict) -> tuple[dict, bool]:
    payload, errored = pool.invoke(json.dumps(event).encode())
    return json.loads(payload), errored


def test_reserved_variables_warm_reuse_errors_and_logs(pool):
    first, errored = invoke(pool, {})
    assert not errored and first["invocations"] == 1
    assert first["variables"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "ProbeFunction",
        "AWS_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "LAMBDA_TASK_ROOT": str(pool.spec.code_dir),
        "_HANDLER": "app.handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }
    assert first["arn"] == pool.spec.arn and 0 < first["remaining"] <= 1000
    error, errored = invoke(pool, {"raise": "bad input"})
    assert errored and (error["errorType"], error["errorMessage"]) == ("ValueError", "bad input")
    warm, _ = invoke(pool, {})  # the same environment, its module state kept
    assert (warm["pid"], warm["invocations"]) == (first["pid"], 3)
    assert b"a log line" in pool.log_path.read_bytes()


def test_a_timed_out_environment_is_discarded(pool):
    first, _ = invoke(pool, {})
    error, errored = invoke(pool, {"sleep": 30})
    assert errored and error == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "Task timed out after 1.00 seconds",
    }
    fresh, _ = invoke(pool, {})
    assert fresh["pid"] != first["pid"] and fresh["invocations"] == 1


def test_a_runtime_that_exits_is_an_exit_error_and_replaced(pool):
    error, errored = invoke(pool, {"exit": 3})
    assert (
        errored
        and error["errorType"] == "Runtime.ExitError"
        and "status 3" in error["errorMessage"]
    )
    assert invoke(pool, {})[0]["invocations"] == 1


@pytest.mark.parametrize("pool", [(1.0, 1.2)], indirect=True)
def test_the_timeout_counts_from_the_event_not_the_cold_start(pool):
    # Given a cold start longer than the function's timeout
    answer, errored = invoke(pool, {})
    # Then the invocation still has (nearly) its whole timeout, as in Lambda
    assert not errored and answer["remaining"] > 500, answer


def test_workers_see_nothing_of_the_development_environment(pool, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.getcwd())
    code = pool.spec.code_dir / "app.py"
    code.write_text("import pytest\n" + code.read_text())  # in the venv, not in a Lambda
    error, errored = invoke(pool, {})
    assert errored and error["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'pytest'" in error["errorMessage"]
