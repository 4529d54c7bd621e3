"""Blueprints, runbooks, the HTML report and the run history of the live audit.

The fixture records are shaped like real DescribeTable / DescribeContinuousBackups /
DescribeTimeToLive / ListTagsOfResource answers (boto3 gives datetimes). The end-to-end
test follows a rendered runbook against a real moto server over HTTP: it takes the export
command's values from the runbook text, exports, imports, and compares item counts.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import shlex
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import JSII_QUIET, reset_moto

from tablesafe.config import Config
from tablesafe.engine import build_report
from tablesafe.scanner.blueprint import blueprint, blueprint_path
from tablesafe.scanner.history import find_previous_run, write_run
from tablesafe.scanner.html_report import render_html
from tablesafe.scanner.live import describe_records
from tablesafe.scanner.records import OwningStack, ReadProblem, ReplicaRecord, TableRecord
from tablesafe.scanner.runbook import render_runbook

ACCOUNT = "123456789012"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1b2c3d4e-0000-4000-8000-123456789abc"
EARLIEST = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
LATEST = dt.datetime(2026, 11, 22, 15, 25, tzinfo=dt.UTC)


def _arn(region: str, name: str) -> str:
    return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"


def orders() -> TableRecord:
    """Everything set: on-demand with maxima, GSI and LSI, CMK, stream, TTL, IA class, stack."""
    arn = _arn("us-east-1", "Orders")
    return TableRecord(
        account=ACCOUNT,
        region="us-east-1",
        name="Orders",
        arn=arn,
        describe={
            "TableName": "Orders",
            "TableArn": arn,
            "TableId": "0c1d2e3f-1111-4222-8333-444455556666",
            "TableStatus": "ACTIVE",
            "CreationDateTime": dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC),
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "customerId", "AttributeType": "S"},
                {"AttributeName": "createdAt", "AttributeType": "S"},
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "ProvisionedThroughput": {
                "NumberOfDecreasesToday": 0,
                "ReadCapacityUnits": 0,
                "WriteCapacityUnits": 0,
            },
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "OnDemandThroughput": {"MaxReadRequestUnits": 4000, "MaxWriteRequestUnits": -1},
            "TableSizeBytes": 52_000,
            "ItemCount": 420,
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "byCustomer",
                    "KeySchema": [{"AttributeName": "customerId", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total", "status"]},
                    "IndexStatus": "ACTIVE",
                    "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
                    "IndexArn": f"{arn}/index/byCustomer",
                }
            ],
            "LocalSecondaryIndexes": [
                {
                    "IndexName": "byCreatedAt",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "createdAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                    "IndexArn": f"{arn}/index/byCreatedAt",
                }
            ],
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "LatestStreamArn": f"{arn}/stream/2024-03-01T12:00:00.000",
            "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": KEY_ARN},
            "TableClassSummary": {"TableClass": "STANDARD_INFREQUENT_ACCESS"},
            "DeletionProtectionEnabled": True,
        },
        continuous_backups={
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": {
                "PointInTimeRecoveryStatus": "ENABLED",
                "RecoveryPeriodInDays": 35,
                "EarliestRestorableDateTime": EARLIEST,
                "LatestRestorableDateTime": LATEST,
            },
        },
        time_to_live={"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"},
        tags=[
            {"Key": "team", "Value": "payments"},
            {"Key": "aws:cloudformation:stack-name", "Value": "Svc"},
            {"Key": "aws:cloudformation:logical-id", "Value": "OrdersA9B65338"},
        ],
        stack=OwningStack(
            name="Svc",
            logical_id="OrdersA9B65338",
            deletion_policy="Retain",
            update_replace_policy="Retain",
            construct_path="Svc/Orders/Resource",
            found_by="tags",
        ),
        stack_known=True,
    )


def sessions() -> TableRecord:
    """Provisioned global table, PITR off here and in its replica, unmanaged, no LSI."""
    arn = _arn("us-east-1", "sessions.v2")
    throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 10, "NumberOfDecreasesToday": 0}
    return TableRecord(
        account=ACCOUNT,
        region="us-east-1",
        name="sessions.v2",
        arn=arn,
        describe={
            "TableName": "sessions.v2",
            "TableArn": arn,
            "TableStatus": "ACTIVE",
            "AttributeDefinitions": [
                {"AttributeName": "id", "AttributeType": "B"},
                {"AttributeName": "user", "AttributeType": "S"},
            ],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "ProvisionedThroughput": throughput,
            "TableSizeBytes": 0,
            "ItemCount": 0,
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "byUser",
                    "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                    "IndexStatus": "ACTIVE",
                    "ProvisionedThroughput": throughput,
                }
            ],
            "Replicas": [{"RegionName": "eu-west-1", "ReplicaStatus": "ACTIVE"}],
            "DeletionProtectionEnabled": False,
        },
        continuous_backups={
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
        },
        time_to_live={"TimeToLiveStatus": "DISABLED"},
        tags=[],
        stack=None,
        stack_known=True,
        replicas=[
            ReplicaRecord(
                region="eu-west-1",
                describe={
                    "TableName": "sessions.v2",
                    "TableStatus": "ACTIVE",
                    "DeletionProtectionEnabled": True,
                },
                continuous_backups={
                    "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}
                },
            )
        ],
    )


def unreadable() -> TableRecord:
    """DescribeTable denied: only the name, account and region are known."""
    return TableRecord(
        account=ACCOUNT,
        region="eu-central-1",
        name="Ledger",
        arn=_arn("eu-central-1", "Ledger"),
        problems=[
            ReadProblem("DescribeTable", "AccessDeniedException: not authorized", "eu-central-1"),
            ReadProblem("DescribeContinuousBackups", "AccessDeniedException: not authorized", "eu-central-1"),
        ],
    )


def _fences(markdown: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)\n```", markdown, flags=re.S)


# --- blueprints -------------------------------------------------------------------------


def test_blueprint_records_everything_needed_to_rebuild_the_table() -> None:
    bp = blueprint(orders())
    assert json.loads(json.dumps(bp)) == bp  # JSON-serializable as it is
    assert bp["blueprint_version"] == 1
    assert (bp["account"], bp["region"], bp["table_name"]) == (ACCOUNT, "us-east-1", "Orders")
    assert bp["table_arn"] == _arn("us-east-1", "Orders")
    assert bp["status"] == "ACTIVE"
    assert bp["key_schema"][0] == {"AttributeName": "pk", "KeyType": "HASH"}
    assert {"AttributeName": "createdAt", "AttributeType": "S"} in bp["attribute_definitions"]
    [gsi] = bp["global_secondary_indexes"]
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total", "status"]}
    assert "ProvisionedThroughput" not in gsi  # on-demand: capacity units are meaningless
    [lsi] = bp["local_secondary_indexes"]
    assert lsi["IndexName"] == "byCreatedAt" and lsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert bp["billing"] == {
        "mode": "PAY_PER_REQUEST",
        "on_demand_throughput": {"MaxReadRequestUnits": 4000, "MaxWriteRequestUnits": -1},
    }
    assert bp["sse"] == {"status": "ENABLED", "type": "KMS", "kms_key_arn": KEY_ARN}
    assert bp["stream"]["enabled"] and bp["stream"]["view_type"] == "NEW_AND_OLD_IMAGES"
    assert bp["ttl"] == {"status": "ENABLED", "attribute": "expiresAt"}
    assert bp["table_class"] == "STANDARD_INFREQUENT_ACCESS"
    assert bp["tags"] == {"team": "payments"}
    assert bp["aws_tags"]["aws:cloudformation:logical-id"] == "OrdersA9B65338"
    assert bp["pitr"] == {
        "status": "ENABLED",
        "recovery_period_days": 35,
        "earliest_restorable": "2026-11-01T08:00:00+00:00",
        "latest_restorable": "2026-11-22T15:25:00+00:00",
    }
    assert bp["deletion_protection"] is True
    assert bp["created"] == "2024-03-01T12:00:00+00:00"
    assert (bp["item_count"], bp["size_bytes"]) == (420, 52_000)
    assert bp["stack"]["logical_id"] == "OrdersA9B65338"
    assert bp["stack"]["construct_path"] == "Svc/Orders/Resource"
    assert bp["unreadable"] == []


def test_blueprint_of_a_provisioned_global_table_reads_replicas_in_their_region() -> None:
    bp = blueprint(sessions())
    assert bp["billing"]["provisioned_throughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 10}
    assert bp["global_secondary_indexes"][0]["ProvisionedThroughput"] == {
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 10,
    }
    assert bp["local_secondary_indexes"] == []
    assert bp["sse"]["status"] == "DEFAULT"
    assert bp["table_class"] == "STANDARD"
    [replica] = bp["replicas"]
    assert replica["region"] == "eu-west-1" and replica["deletion_protection"] is True
    assert replica["pitr"]["status"] == "DISABLED"
    assert bp["stack"] is None and bp["stack_known"] is True


def test_partial_blueprint_says_what_it_lacks() -> None:
    bp = blueprint(unreadable())
    assert bp["status"] == "UNREADABLE"
    assert bp["key_schema"] is None and bp["pitr"] is None and bp["billing"] is None
    assert [p["api"] for p in bp["unreadable"]] == ["DescribeTable", "DescribeContinuousBackups"]
    runbook = render_runbook(bp)
    assert "Partial blueprint" in runbook and "AccessDeniedException" in runbook
    assert "key schema is unknown" in runbook
    assert "aws dynamodb describe-table --table-name Ledger --region eu-central-1" in runbook
    # still says how to export this very table
    assert f"--table-arn {_arn('eu-central-1', 'Ledger')}" in runbook


def test_blueprint_path_is_per_account_region_and_table(tmp_path: Path) -> None:
    record = sessions()
    expected = tmp_path / "tables" / ACCOUNT / "us-east-1" / "sessions.v2.json"
    assert blueprint_path(tmp_path, record) == expected
    assert blueprint_path(tmp_path, blueprint(record)) == expected
    odd = {"account": "../x", "region": "us-east-1", "table_name": ".."}
    assert blueprint_path(tmp_path, odd).parent.parent.parent == tmp_path / "tables"


# --- runbooks ---------------------------------------------------------------------------


def test_runbook_uses_this_tables_values() -> None:
    runbook = render_runbook(blueprint(orders()))
    arn = _arn("us-east-1", "Orders")
    assert "aws dynamodb export-table-to-point-in-time" in runbook
    assert f"--table-arn {arn}" in runbook
    assert "--export-format DYNAMODB_JSON --region us-east-1" in runbook
    assert "describe-export" in runbook and "manifest-summary.json" in runbook
    assert "Value=Orders" in runbook  # ConsumedWriteCapacityUnits for this table
    assert "update-continuous-backups" not in runbook  # PITR already on
    assert "restore-table-to-point-in-time --source-table-name Orders" in runbook  # it has an LSI
    assert "cannot recreate local secondary indexes" in runbook and "`byCreatedAt`" in runbook
    assert "cdk import" in runbook
    assert "attribute `expiresAt`" in runbook and "`team=payments`" in runbook
    assert "--no-deletion-protection-enabled" in runbook
    assert "stack `Svc`" in runbook


def test_runbook_enables_pitr_first_and_skips_the_lsi_route_when_not_needed() -> None:
    runbook = render_runbook(blueprint(sessions()))
    pitr = runbook.index("--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true")
    assert pitr < runbook.index("export-table-to-point-in-time")
    assert "update-continuous-backups --table-name sessions.v2 --region us-east-1" in runbook
    assert "restore-table-to-point-in-time" not in runbook
    assert "local secondary" not in runbook
    assert "Replicas in `eu-west-1`" in runbook
    assert "--region eu-west-1" in runbook  # the write check covers the replica region too


def test_runbook_cdk_code_is_valid_and_carries_every_setting() -> None:
    runbook = render_runbook(blueprint(orders()))
    python = _fences(runbook, "python")
    typescript = _fences(runbook, "typescript")
    assert len(python) == len(typescript) == 2  # the import route and the restore route
    for code in python:
        ast.parse(code)
    imported, restored = python
    for expected in (
        'table_name="Orders-imported"',
        'dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)',
        'dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.NUMBER)',
        "billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST",
        "max_read_request_units=4000",
        "table_class=dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS",
        "encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED",
        f'kms.Key.from_key_arn(self, "TableKey", "{KEY_ARN}")',
        "input_format=dynamodb.InputFormat.dynamo_db_json()",
        "compression_type=dynamodb.InputCompressionType.GZIP",
        'key_prefix="tablesafe-exports/123456789012/us-east-1/Orders/AWSDynamoDB/" + EXPORT_ID + "/data/"',
        "stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES",
        'time_to_live_attribute="expiresAt"',
        "point_in_time_recovery_enabled=True,\n                recovery_period_in_days=35,",
        "deletion_protection=True",
        "removal_policy=RemovalPolicy.RETAIN",
        'index_name="byCustomer"',
        "projection_type=dynamodb.ProjectionType.INCLUDE",
        'non_key_attributes=["total", "status"]',
        'Tags.of(table).add("team", "payments")',
    ):
        assert expected in imported, expected
    assert "add_local_secondary_index" not in imported and "aws:cloudformation" not in imported
    # the restored table is described as the restore leaves it, with its LSI, for cdk import
    assert 'table_name="Orders-restored"' in restored and "add_local_secondary_index" in restored
    assert 'sort_key=dynamodb.Attribute(name="createdAt"' in restored
    assert "import_source" not in restored and "time_to_live_attribute" not in restored
    for code in typescript:
        assert code.count("{") == code.count("}") and code.count("(") == code.count(")")
        assert code.count("[") == code.count("]")
    ts = typescript[0]
    for expected in (
        "new dynamodb.Table(this,",
        "importSource: {",
        "inputFormat: dynamodb.InputFormat.dynamoDBJson()",
        'keyPrefix: "tablesafe-exports/123456789012/us-east-1/Orders/AWSDynamoDB/" + EXPORT_ID + "/data/"',
        'timeToLiveAttribute: "expiresAt"',
        "pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 35 }",
        "removalPolicy: cdk.RemovalPolicy.RETAIN",
        "table.addGlobalSecondaryIndex({",
        f'kms.Key.fromKeyArn(this, "TableKey", "{KEY_ARN}")',
    ):
        assert expected in ts, expected


@pytest.mark.cdk
def test_runbook_python_synthesizes_with_aws_cdk_lib(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated code is real CDK: both routes synthesize to the table of the blueprint."""
    for name, value in JSII_QUIET.items():
        monkeypatch.setenv(name, value)
    import aws_cdk as cdk

    imported, restored = _fences(render_runbook(blueprint(orders())), "python")
    export_id = "01700000000000-abcdef12"
    templates = []
    for index, code in enumerate((imported, restored)):
        namespace: dict[str, Any] = {}
        exec(code.replace("REPLACE-WITH-EXPORT-ID", export_id), namespace)
        stack_class = next(v for k, v in namespace.items() if k.endswith("Stack") and k != "Stack")
        app = cdk.App()
        stack_class(app, f"Recreate{index}", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
        template = app.synth().get_stack_by_name(f"Recreate{index}").template
        [table] = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        templates.append(table["Properties"])
    new, restore = templates
    assert new["ImportSourceSpecification"] == {
        "InputCompressionType": "GZIP",
        "InputFormat": "DYNAMODB_JSON",
        "S3BucketSource": {
            "S3Bucket": "REPLACE-WITH-EXPORT-BUCKET",
            "S3KeyPrefix": f"tablesafe-exports/{ACCOUNT}/us-east-1/Orders/AWSDynamoDB/{export_id}/data/",
        },
    }
    assert new["SSESpecification"] == {"KMSMasterKeyId": KEY_ARN, "SSEEnabled": True, "SSEType": "KMS"}
    assert new["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True,
        "RecoveryPeriodInDays": 35,
    }
    assert new["DeletionProtectionEnabled"] is True
    assert new["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert new["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert new["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert {"Key": "team", "Value": "payments"} in new["Tags"]
    assert "LocalSecondaryIndexes" not in new
    assert restore["TableName"] == "Orders-restored" and "ImportSourceSpecification" not in restore
    assert restore["LocalSecondaryIndexes"][0]["IndexName"] == "byCreatedAt"


def test_runbook_python_of_a_provisioned_table_parses() -> None:
    runbook = render_runbook(blueprint(sessions()))
    [code] = _fences(runbook, "python")
    ast.parse(code)
    assert "billing_mode=dynamodb.BillingMode.PROVISIONED" in code
    assert "read_capacity=5" in code and "write_capacity=10" in code
    assert "dynamodb.AttributeType.BINARY" in code
    assert "aws_kms" not in code and "Tags" not in code


def test_import_parameters_in_the_runbook_leave_out_lsi_attributes() -> None:
    runbook = render_runbook(blueprint(orders()))
    params = json.loads(re.search(r"<<'TABLESAFE_JSON'\n(.*?)\nTABLESAFE_JSON", runbook, re.S).group(1))
    assert params["TableName"] == "Orders-imported"
    assert {a["AttributeName"] for a in params["AttributeDefinitions"]} == {"pk", "sk", "customerId"}
    assert params["SSESpecification"] == {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY_ARN}
    assert "LocalSecondaryIndexes" not in params


# --- HTML report ------------------------------------------------------------------------


def _report(records: list[TableRecord]):  # type: ignore[no-untyped-def]
    return build_report(describe_records(records), Config())


def test_html_report_grid_and_escaping() -> None:
    evil = orders()
    evil.tags = [*evil.tags, {"Key": "owner", "Value": "<script>alert('x')</script>"}]
    records = [evil, sessions(), unreadable()]
    report = _report(records)
    page = render_html(report, records, tool_version="0.1.0")
    assert "<script" not in page
    assert "owner=&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "http://" not in page and "https://" not in page  # self-contained
    header, *rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    assert re.findall(r'<th class="rule"[^>]*>(TS\d+)</th>', header) == ["TS001", "TS003", "TS004", "TS007"]
    cells = {}
    for row in rows:
        name, region = re.search(
            r'<td><a href="[^"]+">([^<]+)</a>.*?<small class="muted">\d+ · ([\w-]+)', row
        ).groups()
        cells[region, name] = re.findall(r'class="c (\w+)"', row)
    assert cells == {
        ("us-east-1", "Orders"): ["pass", "pass", "pass", "pass"],
        ("us-east-1", "sessions.v2"): ["fail", "fail", "na", "pass"],  # no stack: TS004 "n/a (no stack)"
        ("eu-west-1", "sessions.v2"): ["fail", "pass", "na", "pass"],  # the replica protects itself
        ("eu-central-1", "Ledger"): ["unknown", "unknown", "unknown", "pass"],
    }
    assert "AccessDeniedException" in page  # the read problems are listed
    assert "21.3 of 35 days restorable" in page  # the PITR bar
    assert "<b>3</b>tables" in page


def test_html_report_marks_suppressed_findings() -> None:
    record = sessions()
    report = _report([record])
    for finding in report.findings:
        finding.suppressed, finding.suppression_reason = True, "scratch table, <b>recreated</b> daily"
    page = render_html(report, [record], tool_version="0.1.0")
    assert 'class="c suppressed"' in page and 'class="c fail"' not in page
    assert "&lt;b&gt;recreated&lt;/b&gt;" in page


def test_html_report_escapes_findings_and_errors() -> None:
    record = sessions()
    record.problems = [ReadProblem("ListTagsOfResource", "Denied <img src=x onerror=alert(1)>", "us-east-1")]
    report = _report([record])
    page = render_html(report, [record], tool_version="<b>v</b>")
    assert "<img" not in page and "<b>v</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


# --- run history ------------------------------------------------------------------------


def test_write_run_records_every_table_and_the_changes_since_the_previous_run(tmp_path: Path) -> None:
    first_dir, second_dir = tmp_path / "2026-11-21T15-30-00Z", tmp_path / "2026-11-22T15-30-00Z"
    gone = replace(sessions(), name="gone", arn=_arn("us-east-1", "gone"))
    first = [orders(), sessions(), gone]
    first_summary = write_run(first_dir, _report(first), first, tool_version="0.1.0", previous=None)
    assert first_summary.previous_run is None and first_summary.counts["tables"] == 3
    assert find_previous_run(tmp_path, second_dir) == first_dir

    weakened = orders()
    weakened.describe = {**weakened.describe, "DeletionProtectionEnabled": False}
    weakened.continuous_backups = {
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}
    }
    weakened.stack = replace(weakened.stack, deletion_policy="Delete")
    fixed = sessions()
    fixed.continuous_backups = orders().continuous_backups
    fixed.replicas[0].continuous_backups = orders().continuous_backups
    second = [weakened, fixed, unreadable()]
    report = _report(second)
    summary = write_run(second_dir, report, second, tool_version="0.1.0", previous=first_dir)

    orders_key, sessions_key = f"{ACCOUNT}/us-east-1/Orders", f"{ACCOUNT}/us-east-1/sessions.v2"
    assert summary.previous_run == first_dir.name
    assert summary.new == [f"{ACCOUNT}/eu-central-1/Ledger"]
    assert summary.deleted == [f"{ACCOUNT}/us-east-1/gone"]
    assert [(e["table"], e["protection"]) for e in summary.lost_protection] == [
        (orders_key, "deletion_protection"),
        (orders_key, "pitr"),
        (orders_key, "retain"),
    ]
    assert [(e["table"], e["protection"]) for e in summary.gained_protection] == [(sessions_key, "pitr")]
    assert summary.partial  # Ledger could not be read
    text = summary.summary_text()
    assert f"LOST pitr: {orders_key}" in text and "1 new, 1 deleted, 3 lost protection" in text

    on_disk = json.loads((second_dir / "summary.json").read_text())
    assert on_disk["changes"] == json.loads((second_dir / "changes.json").read_text())
    entry = next(t for t in on_disk["tables"] if t["key"] == orders_key)
    assert entry["protections"] == {"pitr": False, "deletion_protection": False, "retain": False}
    assert {"TS001", "TS003", "TS004"} <= set(entry["findings"])
    ledger = next(t for t in on_disk["tables"] if t["name"] == "Ledger")
    assert ledger["protections"]["pitr"] is None and "DescribeTable" in ledger["unreadable"]
    for record in second:
        path = blueprint_path(second_dir, record)
        assert json.loads(path.read_text())["table_name"] == record.name
        assert path.with_suffix(".md").read_text().startswith(f"# Recreate DynamoDB table `{record.name}`")
    assert json.loads((second_dir / "report.json").read_text())["tool"] == "tablesafe"
    assert "<!DOCTYPE html>" in (second_dir / "report.html").read_text()


def test_find_previous_run_takes_the_latest_earlier_run_with_a_summary(tmp_path: Path) -> None:
    for name in ("2026-11-20T00-00-00Z", "2026-11-21T00-00-00Z", "2026-11-23T00-00-00Z", "notes"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text("{}")
    (tmp_path / "2026-11-21T12-00-00Z").mkdir()  # an aborted run: no summary
    current = tmp_path / "2026-11-22T00-00-00Z"
    assert find_previous_run(tmp_path, current) == tmp_path / "2026-11-21T00-00-00Z"
    assert find_previous_run(tmp_path / "missing", current) is None
    assert find_previous_run(tmp_path, tmp_path / "custom") == tmp_path / "2026-11-23T00-00-00Z"


# --- end to end: follow a runbook against a real moto server ----------------------------


def _runbook_commands(runbook: str) -> list[str]:
    """Every shell line of the runbook's bash blocks, continuation lines joined."""
    blocks = _fences(runbook, "bash")
    return [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]


def _aws_call(command: str, env: dict[str, str], files: dict[str, str]) -> tuple[str, dict[str, Any], str]:
    """(operation, boto3 parameters, region) of one `aws dynamodb ...` line of the runbook.

    Shell variables are expanded from env, `file://` reads a heredoc of the runbook, and the
    CLI's shorthand `K=V,K=V` becomes a dict, as the AWS CLI does.
    """
    command = command[command.index("aws dynamodb ") :]
    if command.endswith(")"):  # VAR=$(aws ...)
        command = command[:-1]
    expanded = re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], command)
    _, _, operation, *args = shlex.split(expanded)
    params: dict[str, Any] = {}
    region = ""
    for option, value in zip(args[::2], args[1::2], strict=True):
        name = option.removeprefix("--")
        if name == "region":
            region = value
        elif name in ("query", "output"):
            continue
        elif value.startswith("file://"):
            params[_pascal(name)] = json.loads(files[value.removeprefix("file://")])
        elif "=" in value and not value.startswith("arn:"):
            pairs = (item.split("=", 1) for item in value.split(","))
            params[_pascal(name)] = {k: {"true": True, "false": False}.get(v, v) for k, v in pairs}
        else:
            params[_pascal(name)] = value
    return operation, params, region


def _pascal(option: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in option.split("-"))


def _find(commands: list[str], operation: str) -> str:
    """The runbook's first command of this operation (describe-export comes again in step 7)."""
    return next(c for c in commands if f"aws dynamodb {operation} " in c)


def _wait(describe: Any, key: str, status_key: str) -> dict[str, Any]:
    for _ in range(100):
        answer = describe()[key]
        if answer[status_key] != "IN_PROGRESS":
            return answer
        time.sleep(0.1)
    raise AssertionError(f"{key} still IN_PROGRESS")


def test_follow_the_runbook_export_import_and_compare_counts(moto_server: str) -> None:
    import boto3

    reset_moto(moto_server)
    region, name, bucket = "us-east-1", "Orders", "tablesafe-e2e-exports"
    ddb = boto3.client("dynamodb", region_name=region, endpoint_url=moto_server)
    s3 = boto3.client("s3", region_name=region, endpoint_url=moto_server)
    s3.create_bucket(Bucket=bucket)
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "customer", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byCustomer",
                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "team", "Value": "payments"}],
    )
    for i in range(37):
        item = {"pk": {"S": f"order-{i % 7}"}, "sk": {"N": str(i)}, "customer": {"S": f"c{i % 3}"}}
        ddb.put_item(TableName=name, Item={**item, "total": {"N": f"{i}.5"}})
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    record = TableRecord(
        account=arn.split(":")[4],
        region=region,
        name=name,
        arn=arn,
        describe=ddb.describe_table(TableName=name)["Table"],
        continuous_backups=ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"],
        time_to_live=ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
        tags=ddb.list_tags_of_resource(ResourceArn=arn)["Tags"],
        stack_known=True,
    )
    runbook = render_runbook(blueprint(record))
    commands = _runbook_commands(runbook)
    files = dict(re.findall(r"cat > (\S+) <<'TABLESAFE_JSON'\n(.*?)\nTABLESAFE_JSON", runbook, re.S))
    env = dict(re.findall(r"^(EXPORT_PREFIX)=(\S+)$", "\n".join(commands), re.M))
    env["EXPORT_BUCKET"] = bucket  # the runbook's REPLACE-WITH-EXPORT-BUCKET

    def call(operation: str) -> tuple[str, dict[str, Any]]:
        op, params, where = _aws_call(_find(commands, operation), env, files)
        assert where == region
        return op.replace("-", "_"), params

    # step 2: PITR is off on the new table, so the runbook enables it first
    op, params = call("update-continuous-backups")
    assert params == {
        "TableName": name,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    getattr(ddb, op)(**params)

    # step 3: the export, with this table's ARN
    op, params = call("export-table-to-point-in-time")
    assert params["TableArn"] == arn and params["S3Bucket"] == bucket
    assert params["ExportFormat"] == "DYNAMODB_JSON"
    env["EXPORT_ARN"] = getattr(ddb, op)(**params)["ExportDescription"]["ExportArn"]

    # step 4: wait with describe-export
    op, params = call("describe-export")
    export = _wait(lambda: getattr(ddb, op)(**params), "ExportDescription", "ExportStatus")
    assert export["ExportStatus"] == "COMPLETED" and export["ItemCount"] == 37
    # moto gap: the data folder is a fresh uuid, not the export id that ends the export ARN
    # (and moto writes no manifest files): take the folder moto wrote as the export id.
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{env['EXPORT_PREFIX']}/AWSDynamoDB/")["Contents"]
    [data_key] = [obj["Key"] for obj in listed]
    env["EXPORT_ID"] = data_key.split("/AWSDynamoDB/")[1].split("/")[0]
    [data_prefix] = re.findall(r'^DATA_PREFIX="(.*)"$', "\n".join(commands), re.M)
    env["DATA_PREFIX"] = re.sub(r"\$(\w+)", lambda m: env[m.group(1)], data_prefix)
    assert data_key.startswith(env["DATA_PREFIX"])

    # step 5: create the new table from the export (the runbook's import-table rehearsal)
    op, params = call("import-table")
    assert params["S3BucketSource"] == {"S3Bucket": bucket, "S3KeyPrefix": env["DATA_PREFIX"]}
    assert params["TableCreationParameters"]["GlobalSecondaryIndexes"][0]["IndexName"] == "byCustomer"
    env["IMPORT_ARN"] = getattr(ddb, op)(**params)["ImportTableDescription"]["ImportArn"]
    op, params = call("describe-import")
    imported = _wait(lambda: getattr(ddb, op)(**params), "ImportTableDescription", "ImportStatus")
    assert imported["ImportStatus"] == "COMPLETED", imported
    assert imported["ErrorCount"] == 0

    # step 7: validate the count of the new table against the export's and the original's
    op, params = call("scan")
    assert params["TableName"] == f"{name}-imported" and params["Select"] == "COUNT"
    pages = ddb.get_paginator("scan").paginate(**params)
    new_count = sum(page["Count"] for page in pages)
    original = sum(
        page["Count"] for page in ddb.get_paginator("scan").paginate(TableName=name, Select="COUNT")
    )
    assert new_count == export["ItemCount"] == original == 37
    copy = ddb.get_item(TableName=f"{name}-imported", Key={"pk": {"S": "order-3"}, "sk": {"N": "10"}})["Item"]
    assert copy["total"] == {"N": "10.5"} and copy["customer"] == {"S": "c1"}
