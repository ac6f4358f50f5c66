"""``python -m local.moto_dynamodb``, the bench's moto: DynamoDB's calls answered on connections
kept open, as DynamoDB keeps them (so that a call costs the function what it costs on AWS),
with the transactions of local.moto_dynamodb."""

from __future__ import annotations

import json
import sys
from http.client import HTTPConnection

import boto3
import pytest
from botocore.config import Config

from local.bench import free_port, process

SIGNED = {  # moto reads the region from the credential scope
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261205/us-east-1/dynamodb/"
    "aws4_request, SignedHeaders=host, Signature=0",
}


@pytest.fixture(scope="module")
def server():
    port = free_port()
    args = [sys.executable, "-m", "local.moto_dynamodb", "-H", "127.0.0.1", "-p", str(port)]
    with process(args, port) as url:
        yield port, url


def test_calls_share_one_connection(server):
    # Given one HTTP/1.1 connection to the server
    port, _ = server
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    answers = []
    for _ in range(3):
        # When DynamoDB calls go over it one after the other
        connection.request(
            "POST",
            "/",
            body=json.dumps({}),
            headers={**SIGNED, "X-Amz-Target": "DynamoDB_20120810.ListTables"},
        )
        answer = connection.getresponse()
        answers.append((answer.status, json.loads(answer.read()), answer.will_close))
    connection.close()
    # Then each is answered, and the connection stays open for the next
    assert answers == [(200, {"TableNames": []}, False)] * 3


def test_a_transaction_is_all_or_nothing(server):
    # Given a table and an item in it
    _, url = server
    client = boto3.client(
        "dynamodb",
        endpoint_url=url,
        config=Config(retries={"total_max_attempts": 1}),
    )
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName="t", Item={"id": {"S": "old"}})
    # When a transaction writes a new item and refuses on the old one
    put = {"TableName": "t", "ConditionExpression": "attribute_not_exists(id)"}
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {**put, "Item": {"id": {"S": "new"}}}},
                {"Put": {**put, "Item": {"id": {"S": "old"}}}},
            ]
        )
    # Then nothing of it was written
    assert "Item" not in client.get_item(TableName="t", Key={"id": {"S": "new"}})
