"""The scheduled drill's Lambda steps (scanner/drill_handler.py), run in-process against a real
moto server over HTTP in the order ScheduledRestoreDrill's state machine runs them, a Catch
included; the result lands where the scheduled audit reads it."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from conftest import FAKE_CREDENTIALS, load_helper

from tablesafe.scanner import drill_handler, lambda_handler

helpers = load_helper("audit_helpers.py")
tables = load_helper("drill_helpers.py")
ACCOUNT, HOME = helpers.ACCOUNT, helpers.HOME
EXPORTS, REPORTS = "drill-exports", "audit-reports"


def client(service: str) -> Any:
    return boto3.client(service, region_name=HOME)


@pytest.fixture
def queue(aws: Any, moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every client pointed at the proxy (conftest's clean account), the buckets, the drill
    function's environment, and the URL of a queue subscribed to its topic."""
    for name, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": aws.url, "AWS_REGION": HOME}.items():
        monkeypatch.setenv(name, value)
    for bucket in (EXPORTS, REPORTS):
        client("s3").create_bucket(Bucket=bucket)
    topic = client("sns").create_topic(Name="drill-alarms")["TopicArn"]
    queue_url = client("sqs").create_queue(QueueName="alarms")["QueueUrl"]
    arn = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    for name, value in {
        "TABLESAFE_DRILL_BUCKET": EXPORTS,
        "TABLESAFE_REPORT_BUCKET": REPORTS,
        "TABLESAFE_TOPIC_ARN": topic,
    }.items():
        monkeypatch.setenv(name, value)
    return queue_url


def published(queue_url: str) -> list[str]:
    """The messages the topic delivered to the queue."""
    answer = client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"])["Message"] for message in answer.get("Messages", [])]


def seed(tagged: dict[str, str | None]) -> None:
    """Tables of 20 items, tagged tablesafe:drill=<value> (None: untagged)."""
    dynamodb = client("dynamodb")
    for name, value in tagged.items():
        tables.create_table(dynamodb, name)
        tables.seed(dynamodb, name, 20, threads=1)
        if value:
            arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
            dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "tablesafe:drill", "Value": value}])


def step(name: str, state: dict[str, Any]) -> dict[str, Any]:
    return drill_handler.step({"step": name, "state": state}, None)


def until_done(name: str, state: dict[str, Any]) -> dict[str, Any]:
    """A poll step until done, as the state machine's Wait/Choice loop runs it (bounded)."""
    waits = []
    for _ in range(50):
        state = step(name, state)
        if state["done"]:
            assert waits == sorted(waits) and all(30 <= wait <= 600 for wait in waits)
            return state
        waits.append(state["wait"])
    pytest.fail(f"{name} never finished")


def caught(error: Exception) -> dict[str, str]:
    """What a Step Functions Catch puts in $.error for a Lambda that raised error."""
    kind = type(error).__name__
    return {"Error": kind, "Cause": json.dumps({"errorMessage": str(error), "errorType": kind})}


def left_behind() -> tuple[list[str], list[str]]:
    names = client("dynamodb").list_tables()["TableNames"]
    objects = client("s3").list_objects_v2(Bucket=EXPORTS).get("Contents", [])
    return [n for n in names if n.startswith("tablesafe-drill-")], [o["Key"] for o in objects]


def test_the_steps_drill_the_tagged_tables_and_the_scheduled_audit_reads_the_result(
    queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed({"orders": "monthly", "weekly": "weekly", "plain": None})
    assert step("select", {}) == {"tables": [{"table": "orders"}]}
    state = until_done("poll_export", step("start", {"table": "orders"}))
    state = until_done("poll_rebuild", step("start_rebuild", state))
    assert len(json.dumps(state)) < 64_000  # far below a state's 256 KiB, whatever the sample
    done = step("finish", step("compare", state))
    assert done["verdict"] == "proven" and done["published"] is False
    assert done["result_key"].startswith(f"drills/{ACCOUNT}/{HOME}/orders/")
    result = json.loads(client("s3").get_object(Bucket=REPORTS, Key=done["result_key"])["Body"].read())
    assert (result["verdict"], result["counts"]["imported"], result["sample"]["equal"]) == ("proven", 20, 20)
    assert left_behind() == ([], []) and published(queue) == []

    monkeypatch.setenv("TABLESAFE_REGIONS", HOME)
    monkeypatch.setenv("TABLESAFE_DRILL_MAX_AGE_DAYS", "35")
    monkeypatch.delenv("TABLESAFE_TOPIC_ARN")
    run = lambda_handler.run({}, None)
    prefix = run["run_uri"].split(f"{REPORTS}/", 1)[1]
    summary = json.loads(client("s3").get_object(Bucket=REPORTS, Key=f"{prefix}summary.json")["Body"].read())
    drills = {entry["name"]: entry["drill"] for entry in summary["tables"]}
    assert drills["orders"]["line"].startswith("last proven: ") and drills["plain"]["line"] == "never drilled"
    report = json.loads(client("s3").get_object(Bucket=REPORTS, Key=f"{prefix}report.json")["Body"].read())
    assert sorted(f["table_name"] for f in report["findings"] if f["rule_id"] == "TS008") == [
        "plain",
        "weekly",
    ]


def test_a_failed_step_is_caught_into_finish_which_cleans_up_and_tells(queue: str, aws: Any) -> None:
    seed({"orders": "monthly"})

    def import_failed(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "DescribeImport":
            answer["ImportTableDescription"].update(ImportStatus="FAILED", FailureCode="InvalidInput")

    state = until_done("poll_export", step("start", {"table": "orders"}))
    state = step("start_rebuild", state)
    aws.rewrites.append(import_failed)
    with pytest.raises(drill_handler.drill.RouteFailed) as failure:
        step("poll_rebuild", state)
    done = step("finish", {**state, "error": caught(failure.value)})
    assert done["verdict"] == "not-recreatable" and done["published"] is True
    assert left_behind() == ([], [])
    (message,) = published(queue)
    assert "is NOT recreatable as recorded (export-import)" in message
    assert "why             the import FAILED: InvalidInput" in message


def test_a_drill_that_cannot_start_is_told_and_leaves_nothing(
    queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed({"orders": "monthly"})
    monkeypatch.setenv("TABLESAFE_MAX_COST", "0")
    with pytest.raises(drill_handler.drill.CannotStart) as refused:
        step("start", {"table": "orders"})
    done = step("finish", {"table": "orders", "error": caught(refused.value)})
    assert done == {"table": "orders", "verdict": None, "published": True}
    (message,) = published(queue)
    assert message == (
        "tablesafe drill of orders could not start: the drill of orders would cost about less than USD 0.01 "
        "(0.0 GB by export-import), more than the maximum of USD 0.00 (--max-cost): raise it, or pass --yes"
    )
    assert left_behind() == ([], [])


def test_a_step_timeout_is_unfinished() -> None:
    error = drill_handler._caught({"Error": "States.Timeout", "Cause": "Task timed out after 900 seconds"})
    assert isinstance(error, drill_handler.drill.Unfinished)
    assert str(error) == "States.Timeout: Task timed out after 900 seconds"
    assert isinstance(
        drill_handler._caught(caught(drill_handler.drill.RouteFailed("x"))), drill_handler.drill.RouteFailed
    )


@pytest.mark.parametrize(
    ("env", "event", "message"),
    [
        ({}, {"step": "select"}, "TABLESAFE_DRILL_BUCKET is not set"),
        ({"TABLESAFE_DRILL_BUCKET": "b", "TABLESAFE_REPORT_BUCKET": "r", "TABLESAFE_MAX_COST": "x"},
         {"step": "select"}, "TABLESAFE_MAX_COST: expected a number of at least 0, not 'x'"),
        ({}, {"step": "sleep"}, "step: expected an event {'step': one of select, start"),
        ({}, ["select"], "step: expected an event"),
    ],
)  # fmt: skip
def test_bad_configuration_or_events_are_clear_value_errors(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], event: object, message: str
) -> None:
    for name in ("TABLESAFE_DRILL_BUCKET", "TABLESAFE_REPORT_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="^" + message.replace("{", "\\{").replace("(", "\\(")):
        drill_handler.step(event, None)
