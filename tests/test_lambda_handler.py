"""The scheduled audit's Lambda handlers, invoked in-process against a real moto server over
HTTP: the run they write to S3, the summary they publish to SNS (read back from a subscribed
SQS queue), the difference between runs, and the Step Functions fan-out."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import FAKE_CREDENTIALS, _cli_env, load_helper, reset_moto

from tablesafe.scanner import lambda_handler
from tablesafe.scanner.records import (
    OwningStack,
    ReadProblem,
    ReplicaRecord,
    TableRecord,
    record_from_json,
    record_to_json,
)

aws_proxy = load_helper("aws_proxy.py")
helpers = load_helper("audit_helpers.py")
ACCOUNT, HOME, OTHER = helpers.ACCOUNT, helpers.HOME, helpers.OTHER
MEMBER = "111111111111"
ROLE = "tablesafe-audit"
BUCKET = "audit-reports"
PREFIX = "tablesafe-audit/"
RUN_FILES = {"summary.json", "report.html", "report.json", "changes.json"}


@dataclass
class Aws:
    """The moto account the handlers run against, with its bucket and its topic's queue."""

    url: str
    queue_url: str
    topic_arn: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=HOME, endpoint_url=self.url)

    def keys(self, prefix: str) -> list[str]:
        pages = self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [entry["Key"] for page in pages for entry in page.get("Contents", [])]

    def json(self, key: str) -> Any:
        return json.loads(self.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def messages(self) -> list[dict[str, Any]]:
        """The SNS notifications delivered to the queue since the last call."""
        sqs = self.client("sqs")
        answer = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        found = answer.get("Messages", [])
        for message in found:
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in found]


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """A clean moto account, every boto3 client pointed at it, a bucket, a topic with a queue,
    and the Lambda's environment; run ids one minute apart, as scheduled runs would be."""
    reset_moto(moto_server)
    for name, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": moto_server}.items():
        monkeypatch.setenv(name, value)
    aws = Aws(moto_server, "", "")
    aws.client("s3").create_bucket(Bucket=BUCKET)
    aws.topic_arn = aws.client("sns").create_topic(Name="audit-alerts")["TopicArn"]
    sqs = aws.client("sqs")
    aws.queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws.client("sns").subscribe(TopicArn=aws.topic_arn, Protocol="sqs", Endpoint=queue_arn)
    for name, value in {
        "TABLESAFE_REPORT_BUCKET": BUCKET,
        "TABLESAFE_REGIONS": f"{HOME},{OTHER}",
        "TABLESAFE_TOPIC_ARN": aws.topic_arn,
    }.items():
        monkeypatch.setenv(name, value)
    stamps = (
        (dt.datetime(2026, 1, 31, 2, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n)).strftime(
            "%Y-%m-%dT%H-%M-%SZ"
        )
        for n in range(100)
    )
    monkeypatch.setattr(lambda_handler, "default_output_dir", lambda: Path(PREFIX) / next(stamps))
    return aws


def seed(url: str) -> None:
    """Two tables in error, one warning, and clean tables (some in stacks) in two regions."""
    helpers.create_table(url, "good")
    helpers.create_table(url, "bad", pitr_days=None, protected=False)
    helpers.create_table(url, "short-pitr", pitr_days=3)
    helpers.create_stack(url, "ShopStack", {"CartsTable": "carts"})
    helpers.create_table(url, "orders", region=OTHER, pitr_days=None)


# --- run ------------------------------------------------------------------------------------------


def test_run_writes_the_run_to_s3_and_publishes_the_summary(aws: Aws) -> None:
    seed(aws.url)
    result = lambda_handler.run({}, None)
    run_id = result["run_id"]
    run_prefix = f"{PREFIX}{run_id}/"
    assert result == {
        "run_id": run_id,
        "run_uri": f"s3://{BUCKET}/{run_prefix}",
        "tables": 5,
        "errors": 3,  # bad: TS001 and TS003; orders: TS001
        "warnings": 1,  # short-pitr: TS007
        "read_problems": 0,
        "lost_protection": [],
        "published": True,
    }
    keys = {key.removeprefix(run_prefix) for key in aws.keys(run_prefix)}
    tables = {f"tables/{ACCOUNT}/{HOME}/{name}" for name in ("good", "bad", "short-pitr", "carts")}
    tables.add(f"tables/{ACCOUNT}/{OTHER}/orders")
    assert keys == RUN_FILES | {t + suffix for t in tables for suffix in (".json", ".md", ".html")}
    s3 = aws.client("s3")
    content_types = {
        name: s3.head_object(Bucket=BUCKET, Key=run_prefix + name)["ContentType"]
        for name in (
            "report.html",
            "summary.json",
            f"tables/{ACCOUNT}/{HOME}/bad.md",
            f"tables/{ACCOUNT}/{HOME}/bad.html",
        )
    }
    assert content_types == {
        "report.html": "text/html; charset=utf-8",
        "summary.json": "application/json",
        f"tables/{ACCOUNT}/{HOME}/bad.md": "text/markdown; charset=utf-8",
        f"tables/{ACCOUNT}/{HOME}/bad.html": "text/html; charset=utf-8",
    }
    blueprint = aws.json(f"{run_prefix}tables/{ACCOUNT}/{HOME}/bad.json")
    assert blueprint["table_name"] == "bad"
    assert aws.json(run_prefix + "summary.json")["counts"]["tables"] == 5

    [message] = aws.messages()
    assert message["Subject"] == "tablesafe audit: 3 errors, 0 lost protection"
    assert "5 tables, 3 errors, 1 warnings" in message["Message"]
    assert "No previous run to compare with." in message["Message"]
    assert message["Message"].endswith(f"Report: s3://{BUCKET}/{run_prefix}report.html")


def test_a_second_run_publishes_what_changed(aws: Aws) -> None:
    seed(aws.url)
    first = lambda_handler.run({}, None)
    aws.messages()
    dynamodb = aws.client("dynamodb")
    dynamodb.update_table(TableName="good", DeletionProtectionEnabled=False)
    dynamodb.update_table(TableName="short-pitr", DeletionProtectionEnabled=False)
    dynamodb.delete_table(TableName="short-pitr")
    helpers.create_table(aws.url, "fresh")

    second = lambda_handler.run({}, None)
    lost = {"table": f"{ACCOUNT}/{HOME}/good", "protection": "deletion_protection"}
    assert [entry | {"arn": None} for entry in second["lost_protection"]] == [lost | {"arn": None}]
    [message] = aws.messages()
    assert message["Subject"] == "tablesafe audit: 4 errors, 1 lost protection"
    text = message["Message"]
    assert f"LOST deletion_protection: {ACCOUNT}/{HOME}/good" in text
    assert f"Since {first['run_id']}: 1 new, 1 deleted, 1 lost protection, 0 gained protection" in text
    assert f"new: {ACCOUNT}/{HOME}/fresh" in text
    assert f"deleted: {ACCOUNT}/{HOME}/short-pitr" in text
    changes = aws.json(f"{PREFIX}{second['run_id']}/changes.json")
    assert changes["previous_run"] == first["run_id"]
    assert changes["new"] == [f"{ACCOUNT}/{HOME}/fresh"]
    assert changes["deleted"] == [f"{ACCOUNT}/{HOME}/short-pitr"]
    assert [entry["table"] for entry in changes["lost_protection"]] == [lost["table"]]


def test_a_clean_run_publishes_nothing(aws: Aws) -> None:
    helpers.create_table(aws.url, "good")
    helpers.create_stack(aws.url, "ShopStack", {"CartsTable": "carts"})
    for _ in range(2):
        result = lambda_handler.run({}, None)
        assert (result["tables"], result["errors"], result["published"]) == (2, 0, False)
    assert aws.messages() == []
    assert aws.json(f"{PREFIX}{result['run_id']}/changes.json")["lost_protection"] == []


# --- fan-out --------------------------------------------------------------------------------------


@pytest.fixture
def proxied(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The audit's AWS calls through the fault-injecting proxy (S3 straight to moto, as the
    proxy forwards only POST and GET): global tables and refusals, which moto lacks."""
    with aws_proxy.AwsProxy(aws.url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws.url)
        monkeypatch.delenv("TABLESAFE_TOPIC_ARN")
        monkeypatch.setenv("TABLESAFE_ACCOUNTS", f"{ACCOUNT},{MEMBER}")
        monkeypatch.setenv("TABLESAFE_ROLE_NAME", ROLE)
        yield proxy


def seed_two_accounts(url: str) -> None:
    seed(url)
    helpers.create_table(url, "customers", region=HOME)
    helpers.create_table(url, "customers", region=OTHER, pitr_days=None, protected=False)
    member = helpers.assumed_session(url, MEMBER, ROLE)
    helpers.create_table(url, "ledger", session=member)
    helpers.create_table(url, "ledger-eu", region=OTHER, pitr_days=None, session=member)


def fan_out(skip: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """plan -> audit_item for every item (but the one at index skip) -> merge, as Step Functions runs them."""
    planned = lambda_handler.plan({}, None)
    outputs = [lambda_handler.audit_item(item, None) for i, item in enumerate(planned["items"]) if i != skip]
    return planned, outputs, lambda_handler.merge({"run_id": planned["run_id"]}, None)


def table_verdicts(summary: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {t["key"]: (t["findings"], t["protections"], t["status"], t["stack"]) for t in summary["tables"]}


def test_fan_out_merges_into_the_same_run_as_one_lambda(aws: Aws, proxied: Any) -> None:
    seed_two_accounts(aws.url)
    proxied.rewrites.append(helpers.global_table_rewrite("customers", (HOME, OTHER)))
    single = lambda_handler.run({}, None)

    planned, outputs, merged = fan_out()
    run_id = planned["run_id"]
    pairs = [(ACCOUNT, HOME), (ACCOUNT, OTHER), (MEMBER, HOME), (MEMBER, OTHER)]
    assert planned["items"] == [{"run_id": run_id, "account": a, "region": r} for a, r in pairs]
    assert all(len(json.dumps(output)) < 200 for output in outputs)
    assert [(o["account"], o["region"], o["tables"]) for o in outputs] == [
        (ACCOUNT, HOME, 5),
        (ACCOUNT, OTHER, 2),
        (MEMBER, HOME, 1),
        (MEMBER, OTHER, 1),
    ]
    part_keys = {f"{PREFIX}{run_id}/parts/{a}-{r}.json" for a, r in pairs}
    assert {o["part_key"] for o in outputs} == part_keys
    assert part_keys <= set(aws.keys(f"{PREFIX}{run_id}/parts/"))

    assert merged | {"run_id": None, "run_uri": None} == single | {"run_id": None, "run_uri": None}
    assert merged["tables"] == 8  # customers is one global table, recorded once
    one, many = (aws.json(f"{PREFIX}{r}/summary.json") for r in (single["run_id"], run_id))
    assert table_verdicts(many) == table_verdicts(one)
    assert many["counts"] == one["counts"]
    assert table_verdicts(many)[f"{ACCOUNT}/{OTHER}/customers"][0] == [f"TS001@{OTHER}", f"TS003@{OTHER}"]
    assert f"tables/{MEMBER}/{OTHER}/ledger-eu.md" in {
        key.removeprefix(f"{PREFIX}{run_id}/") for key in aws.keys(f"{PREFIX}{run_id}/tables/")
    }
    assert aws.json(f"{PREFIX}{run_id}/changes.json")["previous_run"] == single["run_id"]


def test_a_refused_account_and_a_failed_item_are_read_problems(aws: Aws, proxied: Any) -> None:
    seed_two_accounts(aws.url)
    proxied.faults.append(aws_proxy.Fault("ListTables", "access_denied", region=OTHER))
    proxied.faults.append(aws_proxy.Fault("AssumeRole", "access_denied"))
    planned, _, merged = fan_out(skip=0)
    assert [(item["account"], item["region"]) for item in planned["items"]] == [
        (ACCOUNT, HOME),
        (ACCOUNT, OTHER),
    ]
    assert merged["read_problems"] == 3
    report = aws.json(f"{PREFIX}{planned['run_id']}/report.json")
    assert [(e["path"], e["problem"].partition(": ")[0]) for e in report["errors"]] == [
        (MEMBER, f"AssumeRole {ROLE}"),
        (f"{ACCOUNT}/{HOME}", lambda_handler.MISSING_PART.partition(": ")[0]),
        (f"{ACCOUNT}/{OTHER}", "ListTables"),
    ]


# --- configuration, packaging, records ------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TABLESAFE_REPORT_BUCKET": ""}, "TABLESAFE_REPORT_BUCKET is not set"),
        ({"TABLESAFE_REGIONS": "us-east-1,mars-north-1"}, "TABLESAFE_REGIONS: unknown region mars-north-1"),
        ({"TABLESAFE_ACCOUNTS": "12345"}, "TABLESAFE_ACCOUNTS: expected 12-digit account IDs, got 12345"),
        ({"TABLESAFE_ACCOUNTS": ACCOUNT}, "TABLESAFE_ROLE_NAME is not set"),
        ({"TABLESAFE_ORGANIZATION": "yes"}, "TABLESAFE_ORGANIZATION: expected true or false, not 'yes'"),
        (
            {"TABLESAFE_ORGANIZATION": "true", "TABLESAFE_ACCOUNTS": ACCOUNT, "TABLESAFE_ROLE_NAME": ROLE},
            "exclude each other",
        ),
        ({"TABLESAFE_CONCURRENCY": "0"}, "TABLESAFE_CONCURRENCY: expected a whole number"),
    ],
)
def test_bad_configuration_is_a_clear_value_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("TABLESAFE_REPORT_BUCKET", BUCKET)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for handler in (lambda_handler.run, lambda_handler.plan):
        with pytest.raises(ValueError, match=message):
            handler({}, None)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {"run_id": "../other", "account": ACCOUNT, "region": HOME},
            "event run_id: expected the plan's run id",
        ),
        ({"run_id": "2026-01-31T02-00-00Z", "account": ACCOUNT, "region": "all"}, "event region"),
        ({"run_id": "2026-01-31T02-00-00Z", "account": "x", "region": HOME}, "event account"),
    ],
)
def test_a_bad_event_is_a_clear_value_error(
    monkeypatch: pytest.MonkeyPatch, event: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("TABLESAFE_REPORT_BUCKET", BUCKET)
    with pytest.raises(ValueError, match=message):
        lambda_handler.audit_item(event, None)


def test_merge_without_a_plan_is_a_clear_value_error(aws: Aws) -> None:
    with pytest.raises(ValueError, match=r"plan\.json is missing: no plan ran for 2026-01-31T02-00-00Z"):
        lambda_handler.merge({"run_id": "2026-01-31T02-00-00Z"}, None)
    aws.client("s3").put_object(
        Bucket=BUCKET, Key=f"{PREFIX}2026-01-31T02-00-00Z/plan.json", Body=b'{"items": ['
    )
    with pytest.raises(ValueError, match=r"plan\.json is not a plan: JSONDecodeError"):
        lambda_handler.merge({"run_id": "2026-01-31T02-00-00Z"}, None)


def test_the_handler_imports_without_tqdm_and_moto() -> None:
    """The Lambda package carries neither: the handler and everything it imports must do without."""
    code = (
        "import sys; sys.modules['tqdm'] = None; sys.modules['moto'] = None; "
        "import tablesafe.scanner.lambda_handler"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=_cli_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_a_record_survives_json() -> None:
    created = dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.UTC)
    record = TableRecord(
        account=ACCOUNT,
        region=HOME,
        name="orders",
        arn=f"arn:aws:dynamodb:{HOME}:{ACCOUNT}:table/orders",
        describe={
            "TableName": "orders",
            "CreationDateTime": created,
            "ProvisionedThroughput": {"LastIncreaseDateTime": created, "ReadCapacityUnits": 5},
            "GlobalSecondaryIndexes": [{"IndexName": "by-day", "ItemCount": 3}],
            "Replicas": [{"RegionName": OTHER}],
        },
        continuous_backups={
            "PointInTimeRecoveryDescription": {
                "PointInTimeRecoveryStatus": "ENABLED",
                "EarliestRestorableDateTime": created,
            }
        },
        time_to_live={"TimeToLiveStatus": "DISABLED"},
        tags=[{"Key": "team", "Value": "shop"}],
        stack=OwningStack("Shop", "Orders", "Retain", "Retain", "Shop/Orders/Resource", "tags"),
        stack_known=True,
        replicas=[ReplicaRecord(OTHER, {"CreationDateTime": created}, None, [ReadProblem("X", "no", OTHER)])],
        problems=[ReadProblem("ListTagsOfResource", "AccessDeniedException: no")],
    )
    data = json.loads(json.dumps(record_to_json(record)))
    assert data["describe"]["CreationDateTime"] == "2025-03-01T12:30:00+00:00"
    assert record_from_json(data) == record


# --- the run is never lost: bad parts, a failing upload, short time, bad events --------------------


def _damage_part(aws: Aws, key: str, how: str) -> None:
    s3 = aws.client("s3")
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    if how == "corrupt":
        body = b"\x00\xffnot json at all"
    elif how == "truncated":
        body = body[: len(body) // 2]
    else:  # a record without its account
        part = json.loads(body)
        del part["records"][0]["account"]
        body = json.dumps(part).encode()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("corrupt", "its audit result cannot be read: UnicodeDecodeError"),
        ("truncated", "its audit result cannot be read: JSONDecodeError"),
        ("bad_record", "record 0 of its audit result cannot be read: KeyError: 'account'"),
    ],
)
def test_merge_reports_a_part_it_cannot_read_and_still_writes_the_run(
    aws: Aws, proxied: Any, monkeypatch: pytest.MonkeyPatch, how: str, problem: str
) -> None:
    seed(aws.url)
    monkeypatch.delenv("TABLESAFE_ACCOUNTS")  # one account, two regions: two parts
    planned = lambda_handler.plan({}, None)
    outputs = [lambda_handler.audit_item(item, None) for item in planned["items"]]
    damaged = next(o for o in outputs if (o["account"], o["region"]) == (ACCOUNT, HOME))
    _damage_part(aws, damaged["part_key"], how)
    merged = lambda_handler.merge({"run_id": planned["run_id"]}, None)
    run_prefix = f"{PREFIX}{planned['run_id']}/"
    report = aws.json(run_prefix + "report.json")
    assert [(e["path"], e["problem"].startswith(problem)) for e in report["errors"]] == [
        (f"{ACCOUNT}/{HOME}", True)
    ], report["errors"]
    assert merged["read_problems"] == 1
    summary = aws.json(run_prefix + "summary.json")
    assert summary["changes"]["partial"] is True
    other_regions = {(o["account"], o["region"]) for o in outputs} - {(ACCOUNT, HOME)}
    assert {(t["account"], t["region"]) for t in summary["tables"]} >= other_regions
    kept = damaged["tables"] - 1 if how == "bad_record" else 0
    assert sum((t["account"], t["region"]) == (ACCOUNT, HOME) for t in summary["tables"]) == kept


def test_a_failed_upload_leaves_no_summary_and_the_next_run_compares_with_the_last_complete_one(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    helpers.create_table(aws.url, "good")
    first = lambda_handler.run({}, None)
    real_s3 = lambda_handler._s3

    def failing_s3(settings: Any) -> Any:
        client = real_s3(settings)

        def refuse(params: dict[str, Any], **_: Any) -> None:
            if params["Key"].endswith("/report.html"):
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "PutObject")

        client.meta.events.register("before-parameter-build.s3.PutObject", refuse)
        return client

    monkeypatch.setattr(lambda_handler, "_s3", failing_s3)
    with pytest.raises(lambda_handler.UploadError, match=r"1 of \d+ objects not uploaded, so summary\.json"):
        lambda_handler.run({}, None)
    incomplete = sorted({key.split("/")[1] for key in aws.keys(PREFIX)})[-1]
    assert incomplete != first["run_id"]
    incomplete_keys = aws.keys(f"{PREFIX}{incomplete}/")
    assert f"{PREFIX}{incomplete}/report.json" in incomplete_keys
    assert f"{PREFIX}{incomplete}/summary.json" not in incomplete_keys

    monkeypatch.setattr(lambda_handler, "_s3", real_s3)
    third = lambda_handler.run({}, None)
    assert aws.json(f"{PREFIX}{third['run_id']}/changes.json")["previous_run"] == first["run_id"]


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as context, as far as the handlers use it."""

    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_run_stops_reading_when_the_lambdas_time_runs_short_and_writes_a_partial_run(
    aws: Aws, proxied: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("alpha", "bravo", "charlie"):
        helpers.create_table(aws.url, name)
    monkeypatch.delenv("TABLESAFE_ACCOUNTS")
    monkeypatch.setenv("TABLESAFE_REGIONS", HOME)
    monkeypatch.setenv("TABLESAFE_CONCURRENCY", "1")
    # the first table's DescribeContinuousBackups outlasts the time left for reading (1.5 s)
    proxied.faults.append(aws_proxy.Fault("DescribeContinuousBackups", "stall", table="alpha", seconds=2.5))
    context = LambdaContext(int((lambda_handler.WRITE_RESERVE_SECONDS + 1.5) * 1000))
    result = lambda_handler.run({}, context)
    assert result["tables"] == 3 and result["read_problems"] > 0
    summary = aws.json(f"{PREFIX}{result['run_id']}/summary.json")
    assert summary["changes"]["partial"] is True
    report = aws.json(f"{PREFIX}{result['run_id']}/report.json")
    not_started = {
        e["path"] for e in report["errors"] if e["problem"].endswith("before the run's time ran out")
    }
    assert {f"{ACCOUNT}/{HOME}/bravo", f"{ACCOUNT}/{HOME}/charlie"} <= not_started


@pytest.mark.parametrize("event", [[], "run", None, 42])
def test_a_non_object_event_is_a_clear_value_error(monkeypatch: pytest.MonkeyPatch, event: object) -> None:
    monkeypatch.setenv("TABLESAFE_REPORT_BUCKET", BUCKET)
    handlers = {
        "run": lambda_handler.run,
        "plan": lambda_handler.plan,
        "audit_item": lambda_handler.audit_item,
        "merge": lambda_handler.merge,
    }
    for name, handler in handlers.items():
        with pytest.raises(ValueError, match=rf"^{name}: expected the event to be a JSON object, not "):
            handler(event, None)


def test_an_event_field_of_the_wrong_type_is_a_clear_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLESAFE_REPORT_BUCKET", BUCKET)
    event = {"run_id": "2026-01-31T02-00-00Z", "account": 123456789012, "region": HOME}
    with pytest.raises(ValueError, match="event account: expected a string such as 123456789012, not int"):
        lambda_handler.audit_item(event, None)
    with pytest.raises(ValueError, match=r"event run_id: expected the plan.s run id, .*, not list"):
        lambda_handler.merge({"run_id": ["x"]}, None)
