"""The send ledger's batches: a bulk send claims its recipients in transactions and records
their outcomes in batch writes, with the same exactly-once guarantees as one by one."""

import json
from collections import Counter

import pytest

from tests.conftest import load_function
from tests.integration.helpers import expect_error

NUMBERS = [f"+1415555{n:04d}" for n in range(100)]
A, B, C, D = NUMBERS[:4]


@pytest.fixture
def handler():
    return load_function("send_sms").lambda_handler


def count_dynamodb_calls() -> Counter:
    """The DynamoDB operations the function calls from now on, by name (retries not counted)."""
    from twilio_connector.aws import aws_client

    calls: Counter = Counter()

    def seen(model, **kwargs):
        calls[model.name] += 1

    aws_client("dynamodb").meta.events.register("before-call.dynamodb", seen)
    return calls


@pytest.fixture
def dynamodb_calls(aws) -> Counter:
    return count_dynamodb_calls()


def records(status_of_interest: str | None = None) -> dict[str, dict]:
    """The ledger's per-recipient records, by recipient."""
    import boto3

    items = boto3.client("dynamodb").scan(TableName="idempotency")["Items"]
    found = {}
    for item in items:
        if item["id"]["S"].startswith("sms-send#"):
            found[item["id"]["S"].rsplit("#", 1)[1]] = item
    return found


def attempt_entries() -> Counter:
    """Attempt entries (``sms-attempts#<recipient>#...``) per recipient."""
    import boto3

    entries: Counter = Counter()
    for item in boto3.client("dynamodb").scan(TableName="idempotency")["Items"]:
        if item["id"]["S"].startswith("sms-attempts#"):
            entries[item["id"]["S"].split("#")[1]] += len(item["entries"]["SS"])
    return entries


def request_identity(event: dict) -> tuple[str, str]:
    """The ledger's request key and content digest of ``event``, as SEND_SMS computes them."""
    from twilio_connector import sms
    from twilio_connector.credentials import get_credentials
    from twilio_connector.ledger import digest

    request = sms.SendSmsRequest.from_event(event)
    params = sms._create_params(request, get_credentials(), sms.render_body(request))
    return sms._request_key(request), digest(sms._compared(params))


def test_a_bulk_send_writes_the_ledger_in_batches(
    aws, emulator, handler, lambda_context, dynamodb_calls
):
    # Given 100 recipients, When they are sent through the ledger
    result = handler({"smsTo": NUMBERS, "smsBody": "Batched"}, lambda_context)

    # Then every message went out once, and the ledger holds each outcome and attempt entry
    assert Counter(m["to"] for m in emulator.messages.values()) == Counter(NUMBERS)
    assert len(result["smsResult"]) == 100
    kept = records()
    assert set(kept) == set(NUMBERS)
    assert {item["status"]["S"] for item in kept.values()} == {"sent"}
    assert {item["sid"]["S"] for item in kept.values()} == set(result["smsResult"])
    assert attempt_entries() == Counter(NUMBERS)
    # in two transactions of 50 claims and batch writes of 25 outcomes, not 3 calls a recipient
    assert dynamodb_calls["TransactWriteItems"] == 2
    assert 4 <= dynamodb_calls["BatchWriteItem"] <= 8
    assert dynamodb_calls["PutItem"] == dynamodb_calls["UpdateItem"] == 0
    assert_allowed_by_the_template(dynamodb_calls)


#: The IAM actions that authorise an API call (a transaction: those of its item actions).
IAM_ACTIONS = {"TransactWriteItems": {"PutItem", "UpdateItem"}}


def assert_allowed_by_the_template(calls: Counter) -> None:
    """SendSmsFunction's policy in template.yaml allows every DynamoDB call it made."""
    from local.template import load_template

    policies = load_template()["Resources"]["SendSmsFunction"]["Properties"]["Policies"]
    allowed = {
        action.removeprefix("dynamodb:")
        for policy in policies
        if "Statement" in policy
        for statement in policy["Statement"]
        if statement.get("Sid") == "SendLedger"
        for action in statement["Action"]
    }
    for call in calls:
        assert IAM_ACTIONS.get(call, {call}) <= allowed, call


def test_a_retry_of_a_bulk_send_replays_it(aws, emulator, handler, lambda_context):
    event = {"smsTo": NUMBERS[:60], "smsBody": "Twice"}
    first = handler(event, lambda_context)
    again = handler(event, lambda_context)  # the same request: every record exists
    assert len(emulator.messages) == 60
    assert again.pop("replayed") is True and first.pop("replayed") is False
    assert again == first


def test_a_batch_partly_refused_claims_the_rest(aws, emulator, handler, lambda_context):
    """Another invocation of the same request holds B (a live lease) and had sent C: the batch
    transaction is refused for them; A and D are claimed and sent, C is adopted, B is left to
    the invocation that holds it (CONFLICT: the workflow retries)."""
    from twilio_connector.ledger import Decision, SendLedger

    event = {"smsTo": [A, B, C, D], "smsBody": "Shared", "idempotencyKey": "exec-9/Notify"}
    key, content = request_identity(event)
    other = SendLedger("idempotency", content)
    other.claim(key, B, 300)  # in flight in the other invocation
    c_claim = other.claim(key, C, 300)
    c_resource = {"sid": "SM" + "c" * 32, "to": C, "status": "queued"}
    other.record(c_claim, "sent", c_resource)

    body = expect_error(handler, lambda_context, event, "CONFLICT")

    assert sorted(m["to"] for m in emulator.messages.values()) == [A, D]
    assert body["sentCount"] == 3 and body["failedCount"] == 1
    assert [f["index"] for f in body["failed"]] == [1]
    assert {s["sid"] for s in body["sent"]} >= {c_resource["sid"]}
    kept = records()
    assert kept[B]["status"]["S"] == "started" and kept[B]["claim"]["S"] != ""
    assert {kept[to]["status"]["S"] for to in (A, C, D)} == {"sent"}
    # the refused ones are the other invocation's still: B's claim is not taken over
    assert other.claim(key, B, 300).decision is Decision.BUSY


def test_claims_a_transaction_could_not_take_are_taken_one_by_one(
    aws, emulator, handler, lambda_context, dynamodb_calls
):
    """DynamoDB cancels a transaction for a reason it attributes to no item (a conflict with
    another transaction): the recipients are claimed one by one, each sent once."""
    from botocore.exceptions import ClientError

    from twilio_connector.aws import aws_client

    def conflict(**kwargs):
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [],
            },
            "TransactWriteItems",
        )

    aws_client("dynamodb").meta.events.register("before-call.dynamodb.TransactWriteItems", conflict)
    handler({"smsTo": NUMBERS[:30], "smsBody": "One by one"}, lambda_context)
    assert Counter(m["to"] for m in emulator.messages.values()) == Counter(NUMBERS[:30])
    assert dynamodb_calls["PutItem"] == 30  # the individual claims
    assert {item["status"]["S"] for item in records().values()} == {"sent"}


class _Answered:  # the HTTP answer botocore reads beside a short-circuited response
    status_code = 200


def test_a_throttled_batch_write_is_retried_until_every_outcome_is_kept(
    aws, emulator, handler, lambda_context, dynamodb_calls
):
    """DynamoDB leaves a batch write's items unprocessed (throttling): they are written again."""
    from twilio_connector.aws import aws_client

    throttled = []

    def unprocessed_first(params, **kwargs):
        if not throttled:  # the first batch: nothing written, everything handed back
            throttled.append(params)
            return _Answered(), {"UnprocessedItems": json.loads(params["body"])["RequestItems"]}
        return None

    aws_client("dynamodb").meta.events.register(
        "before-call.dynamodb.BatchWriteItem", unprocessed_first
    )
    result = handler({"smsTo": NUMBERS[:50], "smsBody": "Throttled"}, lambda_context)
    assert throttled and len(result["smsResult"]) == 50
    assert dynamodb_calls["UpdateItem"] == 0  # written again in a batch, not one by one
    kept = records()
    assert set(kept) == set(NUMBERS[:50])
    assert {item["status"]["S"] for item in kept.values()} == {"sent"}
    assert {item["sid"]["S"] for item in kept.values()} == set(result["smsResult"])


def test_a_batch_write_throttled_past_its_retries_is_written_one_by_one(
    aws, emulator, handler, lambda_context, dynamodb_calls
):
    from botocore.exceptions import ClientError

    from twilio_connector.aws import aws_client

    def throttled(**kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "BatchWriteItem",
        )

    aws_client("dynamodb").meta.events.register("before-call.dynamodb.BatchWriteItem", throttled)
    result = handler({"smsTo": NUMBERS[:40], "smsBody": "Throttled"}, lambda_context)
    assert len(result["smsResult"]) == 40
    assert dynamodb_calls["UpdateItem"] == 40  # each outcome by its conditional write
    assert_allowed_by_the_template(dynamodb_calls)
    kept = records()
    assert {item["status"]["S"] for item in kept.values()} == {"sent"}
    # and a retry replays every message, sending nothing
    again = handler({"smsTo": NUMBERS[:40], "smsBody": "Throttled"}, lambda_context)
    assert again["replayed"] is True and len(emulator.messages) == 40


def test_an_outcome_whose_lease_is_near_its_end_is_written_with_its_condition(
    aws, emulator, handler, lambda_context, monkeypatch
):
    """With a lease too short to trust (another invocation could take the claim over), every
    outcome is written by the conditional update, not the batch write."""
    from tests.conftest import reset_layer_caches

    monkeypatch.setenv("SEND_LEASE_SECONDS", "3")  # under LEASE_MARGIN
    reset_layer_caches()
    dynamodb_calls = count_dynamodb_calls()
    handler({"smsTo": NUMBERS[:30], "smsBody": "Short lease"}, lambda_context)
    assert dynamodb_calls["BatchWriteItem"] == 0
    assert dynamodb_calls["UpdateItem"] == 30
    assert {item["status"]["S"] for item in records().values()} == {"sent"}
