"""`tablesafe audit` against a real moto server over HTTP, through a recording, fault-injecting
proxy (tests/aws_proxy.py): what it finds, what it calls, and how it survives faults."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import FAKE_CREDENTIALS, REPO_ROOT, _cli_env, load_helper

aws_proxy = load_helper("aws_proxy.py")
helpers = load_helper("audit_helpers.py")
ACCOUNT, HOME, OTHER = helpers.ACCOUNT, helpers.HOME, helpers.OTHER
POLICY = REPO_ROOT / "scanner" / "audit-policy.json"
READ_ONLY = re.compile(r"^(Describe|List|Get)[A-Z]|^AssumeRole$")
RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def cli(run_cli: RunCli) -> RunCli:
    """run_cli with the fake credentials of the moto server (never real ones)."""

    def run(*args: Any, cwd: Any = None, env: dict[str, str] | None = None) -> Any:
        return run_cli(*args, cwd=cwd, env={**FAKE_CREDENTIALS, **(env or {})})

    return run


def audit(cli: RunCli, proxy: Any, tmp_path: Path, *args: str, cwd: Path | None = None) -> Any:
    """Run the CLI audit through the proxy; returns (CompletedProcess, parsed JSON report)."""
    result = cli(
        "audit",
        "--endpoint-url",
        proxy.url,
        "--output-dir",
        tmp_path / "run",
        "--format",
        "json",
        *args,
        cwd=cwd or tmp_path,
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report:\n{result.stdout}\n{result.stderr}") from None
    return result, report


def by_table(report: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in report["findings"]:
        if not finding["suppressed"]:
            name = finding["table_name"] + (
                f"@{finding['replica_region']}" if finding["replica_region"] else ""
            )
            found.setdefault(name, set()).add(finding["rule_id"])
    return found


# --- what the audit finds -----------------------------------------------------------------


def test_audit_judges_every_kind_of_table(cli: RunCli, moto_server: str, aws: Any, tmp_path: Path) -> None:
    helpers.seed_standard(moto_server)
    aws.rewrites.append(helpers.global_table_rewrite("customers", (HOME, OTHER)))
    result, report = audit(cli, aws, tmp_path, "--regions", f"{HOME},{OTHER}")
    assert result.returncode == 1, result.stderr
    assert report["errors"] == []
    assert by_table(report) == {
        "bad": {"TS001", "TS003"},
        "short-pitr": {"TS007"},
        "scratch-stack-table": {"TS004"},
        f"customers@{OTHER}": {"TS001", "TS003"},
    }
    # the global table is one table with two replicas, not two tables
    assert report["summary"]["tables"] == 7
    stack_finding = next(f for f in report["findings"] if f["table_name"] == "scratch-stack-table")
    assert stack_finding | {"message": None} == stack_finding | {
        "message": None,
        "rule_id": "TS004",
        "source": "live",
        "stack": "ScratchStack",
        "logical_id": "ScratchTable",
        "construct_path": "ScratchStack/ScratchTable/Resource",
        "resource_type": "AWS::DynamoDB::Table",
        "table_arn": f"arn:aws:dynamodb:{HOME}:{ACCOUNT}:table/scratch-stack-table",
    }
    assert "DeletionPolicy is Delete" in stack_finding["message"]
    notices = [n["message"] for n in report["notices"]]
    assert f"unmanaged: no CloudFormation stack owns table {ACCOUNT}/{HOME}/bad" in notices
    assert not any("carts" in n for n in notices)
    written = tmp_path / "run" / "tables" / ACCOUNT / HOME
    assert {p.name for p in written.glob("*.json")} >= {
        "good.json",
        "bad.json",
        "carts.json",
    }
    assert (written / "bad.md").is_file()
    # a global table is recorded once, in the first of its regions, with its replicas
    assert (tmp_path / "run" / "tables" / ACCOUNT / OTHER / "customers.json").is_file()
    assert not (written / "customers.json").exists()
    assert "auditing" not in result.stderr  # no progress bar when stderr is not a terminal


def test_config_exemption_by_table_arn_applies(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    helpers.create_table(moto_server, "legacy-cache", pitr_days=None, protected=False)
    (tmp_path / ".tablesafe.yaml").write_text(
        "exemptions:\n"
        f"  - table_arn: 'arn:aws:dynamodb:*:{ACCOUNT}:table/legacy-*'\n"
        "    reason: a cache rebuilt from the orders table on every deploy\n"
    )
    result, report = audit(cli, aws, tmp_path, "--regions", HOME)
    assert result.returncode == 0, result.stderr
    assert {f["rule_id"] for f in report["findings"] if f["suppressed"]} == {"TS001", "TS003"}


@pytest.mark.parametrize("fmt", ["text", "sarif", "junit", "markdown"])
def test_every_report_format(cli: RunCli, moto_server: str, aws: Any, tmp_path: Path, fmt: str) -> None:
    helpers.create_table(moto_server, "bad", pitr_days=None, protected=False)
    result = cli(
        "audit", "--endpoint-url", aws.url, "--regions", HOME, "--output-dir", tmp_path / "run",
        "--format", fmt, "--output", tmp_path / "report", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "TS001" in (tmp_path / "report").read_text()


# --- read-only, and the number of calls ---------------------------------------------------


def _policy_actions() -> set[str]:
    actions: set[str] = set()
    for statement in json.loads(POLICY.read_text())["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_a_full_audit_only_reads_and_the_policy_lists_exactly_its_calls(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    organizations = helpers.client(moto_server, "organizations")
    organizations.create_organization(FeatureSet="ALL")
    organizations.create_account(AccountName="member", Email="member@example.com")
    members = [a["Id"] for a in organizations.list_accounts()["Accounts"] if a["Id"] != ACCOUNT]
    helpers.seed_standard(moto_server)
    helpers.create_table(
        moto_server, "member-table", session=helpers.assumed_session(moto_server, members[0])
    )
    aws.rewrites.append(helpers.global_table_rewrite("customers", (HOME, OTHER)))
    result, report = audit(
        cli, aws, tmp_path, "--organization", "--role-name", "tablesafe-audit", "--regions", "all"
    )
    assert result.returncode == 1, result.stderr
    assert "member-table" in {f["table_name"] for f in report["findings"]} | {
        n["message"].rsplit("/", 1)[-1] for n in report["notices"]
    }
    called = {f"{call.service}:{call.operation}" for call in aws.calls}
    assert all(READ_ONLY.match(name.split(":")[1]) for name in called), sorted(called)
    # GetCallerIdentity needs no permission but is listed; every other call must be allowed
    assert called == _policy_actions(), called ^ _policy_actions()


def test_calls_per_table(cli: RunCli, moto_server: str, aws: Any, tmp_path: Path) -> None:
    helpers.seed_standard(moto_server)
    for index in range(12):  # more than one page of ListTagsOfResource is not needed: few tags
        helpers.create_table(moto_server, f"extra-{index:02d}")
    aws.rewrites.append(helpers.global_table_rewrite("customers", (HOME, OTHER)))
    result, _ = audit(cli, aws, tmp_path, "--regions", HOME)
    assert result.returncode == 1, result.stderr
    per_table: dict[tuple[str, str], Counter[str]] = {}
    for call in aws.calls:
        if call.service == "dynamodb" and call.table:
            per_table.setdefault((call.region, call.table), Counter())[call.operation] += 1
    table_ops = ("DescribeTable", "DescribeContinuousBackups", "DescribeTimeToLive", "ListTagsOfResource")
    for (region, table), ops in per_table.items():
        if region == HOME:
            assert ops == Counter(dict.fromkeys(table_ops, 1)), (table, ops)
    # the global table's other replica: DescribeTable + DescribeContinuousBackups in its region
    assert per_table[(OTHER, "customers")] == Counter({"DescribeTable": 1, "DescribeContinuousBackups": 1})
    operations = aws.operations("cloudformation")
    assert operations["GetTemplate"] == 2  # ShopStack (two tables) and ScratchStack, once each
    untagged = len(per_table) - 1 - 3  # minus the other replica and the three tagged tables
    assert operations["DescribeStackResources"] == untagged


# --- faults never lose a table ------------------------------------------------------------


def test_throttling_is_retried_without_losing_anything(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    helpers.create_table(moto_server, "busy")
    aws.faults.append(aws_proxy.Fault("DescribeContinuousBackups", "throttle", table="busy", times=3))
    result, report = audit(cli, aws, tmp_path, "--regions", HOME)
    assert result.returncode == 0, result.stderr
    assert report["errors"] == [] and report["findings"] == []
    assert aws.operations()["DescribeContinuousBackups"] == 4


def test_access_denied_on_one_api_is_partial_and_fail_closed(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    helpers.create_table(moto_server, "good")
    helpers.create_table(moto_server, "other")
    aws.faults.append(aws_proxy.Fault("DescribeContinuousBackups", "access_denied", table="good"))
    result, report = audit(cli, aws, tmp_path, "--regions", HOME)
    assert result.returncode == 3, result.stderr  # partial wins over the finding it causes
    assert report["errors"] == [
        {
            "path": f"{ACCOUNT}/{HOME}/good",
            "problem": "DescribeContinuousBackups: AccessDeniedException: User: "
            f"arn:aws:sts::{ACCOUNT}:assumed-role/audit/tablesafe is not authorized to perform: "
            "dynamodb:DescribeContinuousBackups",
            "kind": "input",
        }
    ]
    (finding,) = report["findings"]
    assert finding["rule_id"] == "TS001" and finding["table_name"] == "good"
    assert "could not be read: DescribeContinuousBackups: AccessDeniedException" in finding["message"]
    assert report["summary"]["tables"] == 2
    assert f"{ACCOUNT}/{HOME}/good: DescribeContinuousBackups" in result.stderr


def test_a_table_deleted_between_list_and_describe_is_still_reported(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    helpers.create_table(moto_server, "kept")
    helpers.create_table(moto_server, "ghost")
    aws.faults.append(aws_proxy.Fault("DescribeTable", "not_found", table="ghost"))
    result, report = audit(cli, aws, tmp_path, "--regions", HOME)
    assert result.returncode == 3, result.stderr
    assert [e["path"] for e in report["errors"]] == [f"{ACCOUNT}/{HOME}/ghost"]
    assert "ResourceNotFoundException" in report["errors"][0]["problem"]
    assert by_table(report) == {"ghost": {"TS001", "TS003", "TS004"}}
    assert not any(c.table == "ghost" and c.operation != "DescribeTable" for c in aws.calls)


def test_a_refused_region_and_a_refused_account_do_not_stop_the_audit(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    helpers.create_table(moto_server, "home-table", pitr_days=None)
    aws.faults.append(aws_proxy.Fault("ListTables", "access_denied", region=OTHER))
    result, report = audit(cli, aws, tmp_path, "--regions", f"{HOME},{OTHER}")
    assert result.returncode == 3, result.stderr
    assert [e["path"] for e in report["errors"]] == [f"{ACCOUNT}/{OTHER}"]
    assert by_table(report) == {"home-table": {"TS001"}}

    aws.reset()
    aws.faults.append(aws_proxy.Fault("AssumeRole", "access_denied"))
    result, report = audit(
        cli,
        aws,
        tmp_path,
        "--regions",
        HOME,
        "--role-name",
        "audit",
        "--accounts",
        f"{ACCOUNT},111122223333",
    )
    assert result.returncode == 3, result.stderr
    assert [e["path"] for e in report["errors"]] == ["111122223333"]
    assert "AssumeRole audit: AccessDenied" in report["errors"][0]["problem"]
    assert by_table(report) == {"home-table": {"TS001"}}  # the caller's own account needs no role


@pytest.mark.parametrize(
    "status", ["CREATING", "UPDATING", "ARCHIVED", "INACCESSIBLE_ENCRYPTION_CREDENTIALS"]
)
def test_tables_in_transition_are_reported_as_such(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path, status: str
) -> None:
    helpers.create_table(moto_server, "odd")
    aws.rewrites.append(helpers.status_rewrite("odd", status))
    if status == "ARCHIVED":  # DynamoDB answers TableNotFound for an archived table's backups
        aws.faults.append(aws_proxy.Fault("DescribeContinuousBackups", "not_found", table="odd"))
    result, report = audit(cli, aws, tmp_path, "--regions", HOME)
    assert report["errors"] == []
    assert result.returncode == (1 if status == "ARCHIVED" else 0), result.stderr
    (notice,) = [n for n in report["notices"] if n["level"] == "warning"]
    assert (
        notice["message"].startswith(f"table {ACCOUNT}/{HOME}/odd ")
        and f"(status {status})" in notice["message"]
    )


# --- speed and gentleness ------------------------------------------------------------------


def test_the_rate_limit_keeps_describe_continuous_backups_under_10_per_second(
    moto_server: str, aws: Any, cli: RunCli, tmp_path: Path
) -> None:
    for index in range(25):
        helpers.create_table(moto_server, f"t{index:02d}")
    with aws_proxy.AwsProxy(moto_server, rate_limits={"DescribeContinuousBackups": 10.0}) as strict:
        started = time.monotonic()
        result, report = audit(cli, strict, tmp_path, "--regions", HOME, "--concurrency", "32")
        elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert report["summary"]["tables"] == 25 and report["errors"] == []
    assert strict.throttled == Counter()
    assert elapsed >= 2.4


def test_pagination_ends_at_the_page_cap_when_every_token_is_new() -> None:
    from tablesafe.scanner.aws import EndlessPagination, pages

    tokens = iter(range(1000))
    read = []
    with pytest.raises(EndlessPagination, match="more than 5 pages"):
        for page in pages(
            lambda **_: {"Next": f"t{next(tokens)}"}, token_in="Start", token_out="Next", max_pages=5
        ):
            read.append(page)
    assert len(read) == 5  # the pages read are kept


def test_no_call_is_sent_after_the_deadline() -> None:
    import boto3

    from tablesafe.scanner.aws import Account, Clients, DeadlineExceeded, deadline

    clients = Clients(endpoint_url="http://127.0.0.1:9")  # nothing listens: sending would fail otherwise
    account = Account(ACCOUNT, boto3.Session(aws_access_key_id="x", aws_secret_access_key="x"))
    dynamodb = clients.get(account, HOME, "dynamodb")
    started = time.monotonic()
    with deadline(started, "out of time"), pytest.raises(DeadlineExceeded, match=r"^out of time$"):
        dynamodb.list_tables()
    assert time.monotonic() - started < 1


def _assert_cut_at_a_one_second_deadline(endpoint_url: str) -> None:
    """DescribeTable at endpoint_url, in a block with a 1 s deadline (the read timeout is 10 s),
    fails with that deadline's reason within 2 s."""
    import boto3

    from tablesafe.scanner.aws import Account, Clients, DeadlineExceeded, deadline

    clients = Clients(endpoint_url=endpoint_url, table_timeout=10)
    account = Account(ACCOUNT, boto3.Session(aws_access_key_id="x", aws_secret_access_key="x"))
    dynamodb = clients.get(account, HOME, "dynamodb")
    started = time.monotonic()
    with deadline(started + 1, "out of time"), pytest.raises(DeadlineExceeded, match=r"^out of time$"):
        dynamodb.describe_table(TableName="orders")
    assert time.monotonic() - started < 2


def test_an_answer_cut_in_its_headers_is_no_answer() -> None:
    """Shut down after the status line, the headers cut short parse as an empty 200 answer:
    the call must fail with the deadline, never return what parsed."""
    import http.server
    import threading

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for byte in b"Content-Type: application/x-amz-json-1.0\r\n\r\n{}":
                time.sleep(0.2)
                try:
                    self.wfile.write(bytes([byte]))
                except OSError:  # the client shut the connection down
                    return

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _assert_cut_at_a_one_second_deadline(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (cryptography comes with moto)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return directory / "cert.pem", directory / "key.pem"


def test_a_trickled_tls_handshake_ends_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS takes the socket over before its handshake, which a relay here trickles a byte
    every 50 ms: the handshake alone would take a minute."""
    import socket
    import ssl
    import threading

    certificate, key = _certificate(tmp_path)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(certificate))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(certificate, key)
    listener = server.wrap_socket(socket.create_server(("127.0.0.1", 0)), server_side=True)
    relay = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:  # the TLS end: a handshake at full speed
        with contextlib.suppress(OSError), listener.accept()[0]:
            time.sleep(30)

    def trickle() -> None:  # the client's side of the relay: the server's bytes, one by one
        with contextlib.suppress(OSError), relay.accept()[0] as client:
            upstream = socket.create_connection(listener.getsockname())
            threading.Thread(target=lambda: upstream.sendall(client.recv(65536)), daemon=True).start()
            while byte := upstream.recv(1):
                client.sendall(byte)
                time.sleep(0.05)

    for target in (serve, trickle):
        threading.Thread(target=target, daemon=True).start()
    try:
        _assert_cut_at_a_one_second_deadline(f"https://127.0.0.1:{relay.getsockname()[1]}")
    finally:
        relay.close()
        listener.close()


def test_token_bucket_spaces_calls() -> None:
    from tablesafe.scanner.aws import TokenBucket

    bucket = TokenBucket(50.0)
    started = time.monotonic()
    for _ in range(26):
        bucket.acquire()
    assert 0.49 <= time.monotonic() - started < 1.0


# --- usage errors: one line, exit 2 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--regions", "us-east-7"), "tablesafe: error: --regions: unknown region us-east-7"),
        (("--regions", HOME, "--role-name", "audit"), "tablesafe: error: --role-name needs --accounts"),
        (("--regions", HOME, "--config", "missing.yaml"), "tablesafe: error: missing.yaml: no such file"),
        (
            ("--regions", HOME, "--accounts", "12"),
            "tablesafe: error: --accounts: expected 12-digit account IDs",
        ),
        (("--demo", "--profile", "prod"), "tablesafe: error: --demo runs against its own local endpoint"),
        (
            ("--regions", HOME, "--table-timeout", "0"),
            "tablesafe: error: argument --table-timeout: expected a number of seconds above 0, not '0'",
        ),
    ],
)
def test_usage_errors(cli: RunCli, aws: Any, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = cli("audit", "--endpoint-url", aws.url, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_no_credentials_is_one_line(cli: RunCli, aws: Any, tmp_path: Path) -> None:
    no_credentials = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = cli("audit", "--endpoint-url", aws.url, "--regions", HOME, cwd=tmp_path, env=no_credentials)
    assert result.returncode == 2
    assert result.stderr.startswith("tablesafe: error: no AWS credentials found"), result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- runbook, demo and the default output directory ------------------------------------------------


def test_runbook_of_one_table(cli: RunCli, moto_server: str, aws: Any, tmp_path: Path) -> None:
    helpers.create_table(moto_server, "orders")
    result = cli("runbook", "orders", "--region", HOME, "--endpoint-url", aws.url)
    assert result.returncode == 0, result.stderr
    assert f"arn:aws:dynamodb:{HOME}:{ACCOUNT}:table/orders" in result.stdout
    missing = cli("runbook", "nope", "--region", HOME, "--endpoint-url", aws.url)
    assert missing.returncode == 2
    assert missing.stderr == f"tablesafe: error: table nope does not exist in {HOME}\n"


def test_demo_audits_the_sample_tables(cli: RunCli, tmp_path: Path) -> None:
    result = cli("audit", "--demo", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert by_table(report) == {
        "sessions-scratch": {"TS001", "TS003"},
        "shop-carts": {"TS004"},
        "customers": {"TS003", "TS007"},
    }
    (run,) = (tmp_path / "tablesafe-audit").iterdir()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", run.name)
    assert (run / "tables" / ACCOUNT / HOME / "orders.md").is_file()
    assert (run / "summary.json").is_file()


# --- the owning stack when no tag names it (moto's DescribeStackResources needs a StackName) ---


def test_owning_stack_found_through_describe_stack_resources() -> None:
    """A table imported into a stack (`cdk import`) carries no aws:cloudformation tags."""
    import boto3
    from botocore.stub import Stubber

    from tablesafe.scanner.aws import Account, Clients
    from tablesafe.scanner.collect import TableReader
    from tablesafe.scanner.records import TableRecord

    clients = Clients()
    account = Account(ACCOUNT, boto3.Session(aws_access_key_id="x", aws_secret_access_key="x"))
    cloudformation = clients.get(account, HOME, "cloudformation")
    resource = {
        "StackName": "Imported",
        "LogicalResourceId": "OrdersTable",
        "PhysicalResourceId": "orders",
        "ResourceType": "AWS::DynamoDB::Table",
        "ResourceStatus": "IMPORT_COMPLETE",
        "Timestamp": "2026-01-01T00:00:00Z",
    }
    yaml_template = (
        "Resources:\n  OrdersTable:\n    Type: AWS::DynamoDB::Table\n"
        "    DeletionPolicy: RetainExceptOnCreate\n    Properties: {TableName: !Ref Name}\n"
    )
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stack_resources", {"StackResources": [resource]}, {"PhysicalResourceId": "orders"}
        )
        stub.add_response("get_template", {"TemplateBody": yaml_template}, {"StackName": "Imported"})
        record = TableRecord(account=ACCOUNT, region=HOME, name="orders", tags=[])
        TableReader(clients)._owning_stack(account, record)
        stub.add_client_error(
            "describe_stack_resources", "ValidationError", "Stack for unmanaged does not exist"
        )
        unmanaged = TableRecord(account=ACCOUNT, region=HOME, name="unmanaged", tags=[])
        TableReader(clients)._owning_stack(account, unmanaged)
    assert record.stack is not None and record.problems == []
    assert (record.stack.name, record.stack.logical_id, record.stack.found_by) == (
        "Imported",
        "OrdersTable",
        "DescribeStackResources",
    )
    assert (record.stack.deletion_policy, record.stack.update_replace_policy) == (
        "RetainExceptOnCreate",
        None,
    )
    assert unmanaged.stack is None and unmanaged.stack_known and unmanaged.problems == []


# --- the fault matrix: whatever an endpoint answers, every listed table is reported -------------

FAULT_TABLES = ("alpha", "bravo", "charlie")


def audit_with_faults(
    cli: RunCli,
    moto_server: str,
    proxy: Any,
    tmp_path: Path,
    tables: tuple[str, ...],
    *args: str,
    created: tuple[str, ...] = (),
) -> tuple[Any, dict[str, Any], dict[str, Any], float]:
    """Create tables, audit them through the proxy's faults; returns (CompletedProcess, report,
    summary.json, wall seconds) after asserting what every fault must leave: no traceback,
    exit 3, a complete run, every table in it (and those already created)."""
    for name in tables:
        helpers.create_table(moto_server, name)
    started = time.monotonic()
    result, report = audit(cli, proxy, tmp_path, "--regions", HOME, *args)
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 3, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert {table["name"] for table in summary["tables"]} == {*tables, *created}
    assert report["summary"]["tables"] == len(tables) + len(created)
    assert summary["changes"]["partial"] is True
    return result, report, summary, elapsed


def problems_of(report: dict[str, Any], table: str) -> list[str]:
    return [error["problem"] for error in report["errors"] if error["path"] == f"{ACCOUNT}/{HOME}/{table}"]


@pytest.mark.parametrize(
    ("fault", "api", "reason"),
    [
        ("cut_body", "DescribeTable", "malformed answer: Table is missing or not an object"),
        (
            "cut_body",
            "DescribeContinuousBackups",
            "malformed answer: ContinuousBackupsDescription is missing or not an object",
        ),
        ("html", "DescribeTable", "malformed answer: Table is missing or not an object"),
        ("html", "DescribeTimeToLive", "malformed answer: TimeToLiveDescription is missing or not an object"),
        (
            "endless_token",
            "ListTagsOfResource",
            "pagination does not end: NextToken repeats a token seen before",
        ),
    ],
)
def test_a_hostile_answer_for_one_table_is_that_tables_read_problem(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path, fault: str, api: str, reason: str
) -> None:
    aws.faults.append(aws_proxy.Fault(api, fault, table="bravo"))
    _, report, _, elapsed = audit_with_faults(cli, moto_server, aws, tmp_path, FAULT_TABLES)
    assert problems_of(report, "bravo") == [f"{api}: {reason}"]
    assert problems_of(report, "alpha") == problems_of(report, "charlie") == []
    assert elapsed < 30


def test_an_html_page_for_list_tables_is_a_region_error_not_an_empty_region(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    for name in FAULT_TABLES:
        helpers.create_table(moto_server, name)
    aws.faults.append(aws_proxy.Fault("ListTables", "html"))
    started = time.monotonic()
    result, report = audit(cli, aws, tmp_path, "--regions", HOME)
    assert time.monotonic() - started < 30
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    assert [(e["path"], e["problem"]) for e in report["errors"]] == [
        (f"{ACCOUNT}/{HOME}", "ListTables: malformed answer: TableNames is missing or not a list")
    ]


def test_alternating_list_tables_tokens_end_and_every_table_is_still_audited(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    aws.faults.append(aws_proxy.Fault("ListTables", "alternate_tokens"))
    _, report, summary, elapsed = audit_with_faults(cli, moto_server, aws, tmp_path, FAULT_TABLES)
    assert [(e["path"], e["problem"]) for e in report["errors"]] == [
        (
            f"{ACCOUNT}/{HOME}",
            "ListTables: pagination does not end: LastEvaluatedTableName repeats a token seen before",
        )
    ]
    assert aws.operations()["ListTables"] == 3
    assert all(table["unreadable"] == [] for table in summary["tables"])
    assert elapsed < 30


def test_a_cut_xml_template_is_a_read_problem_of_the_stacks_tables(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    helpers.create_stack(moto_server, "ShopStack", {"CartsTable": "carts", "WishlistsTable": "wishlists"})
    aws.faults.append(aws_proxy.Fault("GetTemplate", "cut_body"))
    _, report, _, elapsed = audit_with_faults(
        cli, moto_server, aws, tmp_path, ("alpha",), created=("carts", "wishlists")
    )
    assert (
        problems_of(report, "carts")
        == problems_of(report, "wishlists")
        == [
            "GetTemplate: ShopStack: ResponseParserError: the answer is not in the API's format "
            "(cut short, or not from AWS?)"
        ]
    )
    assert by_table(report) == {"carts": {"TS004"}, "wishlists": {"TS004"}}
    assert elapsed < 30


def test_a_replica_region_that_is_no_region_name_is_a_read_problem(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    aws.rewrites.append(helpers.global_table_rewrite("bravo", (HOME, "../../etc\n; rm -rf /")))
    _, report, _, elapsed = audit_with_faults(cli, moto_server, aws, tmp_path, FAULT_TABLES)
    assert problems_of(report, "bravo") == [
        "DescribeTable: malformed answer: replica region '../../etc\\n; rm -rf /' is not a region name"
    ]
    assert not any(call.region not in (HOME, "") for call in aws.calls)
    assert elapsed < 30


def test_a_judged_value_of_the_wrong_type_is_a_read_problem_not_a_verdict(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    """botocore checks an answer's structure, not its scalars: "false" must not count as on."""

    def off_model(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "DescribeTable" and call.table == "alpha":
            answer["Table"]["DeletionProtectionEnabled"] = "false"
        if call.operation == "DescribeContinuousBackups" and call.table == "bravo":
            answer["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
                "RecoveryPeriodInDays"
            ] = "35"

    aws.rewrites.append(off_model)
    _, report, _, _ = audit_with_faults(cli, moto_server, aws, tmp_path, FAULT_TABLES)
    assert problems_of(report, "alpha") == [
        "DescribeTable: malformed answer: DeletionProtectionEnabled is not a boolean"
    ]
    assert problems_of(report, "bravo") == [
        "DescribeContinuousBackups: malformed answer: RecoveryPeriodInDays is not a number"
    ]


def test_a_throttle_storm_on_eight_tables_ends_within_a_minute(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    """The issue's target, with the default retries and --table-timeout."""
    storm = ("DescribeContinuousBackups", "DescribeTimeToLive", "ListTagsOfResource")
    aws.faults.extend(aws_proxy.Fault(api, "throttle") for api in storm)
    tables = tuple(f"busy-{index}" for index in range(8))
    _, report, _, elapsed = audit_with_faults(cli, moto_server, aws, tmp_path, tables)
    assert elapsed < 60
    for table in tables:
        assert sorted(p.partition(":")[0] for p in problems_of(report, table)) == sorted(storm)
        assert all("ThrottlingException" in p for p in problems_of(report, table))


def test_a_stalled_call_costs_the_table_timeout_not_minutes(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    aws.faults.append(aws_proxy.Fault("DescribeTable", "stall", table="bravo", seconds=35))
    _, report, _, elapsed = audit_with_faults(
        cli, moto_server, aws, tmp_path, FAULT_TABLES, "--table-timeout", "2"
    )
    problems = problems_of(report, "bravo")
    assert problems and all(p.endswith("not read within the table time limit (2 s)") for p in problems)
    assert problems_of(report, "alpha") == problems_of(report, "charlie") == []
    assert elapsed < 15


def test_a_trickled_answer_costs_the_table_timeout_not_minutes(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    """A byte every 0.5 s passes every read timeout (with --table-timeout 10 the audit took
    341 s): the whole-attempt deadline shuts the socket down at the table's time."""
    aws.faults.append(aws_proxy.Fault("DescribeTable", "trickle", table="bravo", seconds=0.5))
    _, report, _, elapsed = audit_with_faults(
        cli, moto_server, aws, tmp_path, FAULT_TABLES, "--table-timeout", "3"
    )
    problems = problems_of(report, "bravo")
    assert problems[0] == "DescribeTable: not read within the table time limit (3 s)"
    assert all(p.endswith("not read within the table time limit (3 s)") for p in problems)
    assert problems_of(report, "alpha") == problems_of(report, "charlie") == []
    assert elapsed < 3 + 3 + 6  # the table's time, one read timeout, the process's own start


def test_a_trickled_identity_is_one_line_within_the_attempt_deadline(
    cli: RunCli, aws: Any, tmp_path: Path
) -> None:
    """No table deadline yet: each attempt has its connect plus read timeout, connect to last
    byte (2 + 2 s with --table-timeout 2), and a cut attempt is not retried."""
    aws.faults.append(aws_proxy.Fault("GetCallerIdentity", "trickle", seconds=0.5))
    started = time.monotonic()
    result = cli("audit", "--endpoint-url", aws.url, "--regions", HOME, "--table-timeout", "2", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "tablesafe: error: cannot start: sts GetCallerIdentity: no complete answer within 4 s "
        "(connect to last byte)\n"
    )
    assert aws.operations()["GetCallerIdentity"] == 1
    assert time.monotonic() - started < 4 + 6


@pytest.mark.parametrize("command", ["audit", "runbook"])
def test_an_html_page_for_the_callers_identity_is_one_line(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path, command: str
) -> None:
    """botocore's XML parser raises KeyError on a page that parses as XML: contained too."""
    helpers.create_table(moto_server, "orders")
    aws.faults.append(aws_proxy.Fault("GetCallerIdentity", "html"))
    args = ["audit", "--regions", HOME, "--output-dir", tmp_path / "run"]
    result = cli(
        *(args if command == "audit" else ["runbook", "orders", "--region", HOME]), "--endpoint-url", aws.url
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "tablesafe: error: cannot start: sts GetCallerIdentity: malformed answer: not in the API's format"
    ), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("days", [10**400, float("inf")], ids=["10**400", "Infinity"])
def test_a_number_out_of_range_is_a_read_problem_and_the_run_is_written(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path, days: float
) -> None:
    """RecoveryPeriodInDays = 10**400 was an OverflowError while the run was written: nothing
    written, the healthy tables neither. Now the table's answer is refused where it is read."""

    def huge(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "DescribeContinuousBackups" and call.table == "bravo":
            answer["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
                "RecoveryPeriodInDays"
            ] = days

    aws.rewrites.append(huge)
    _, report, _, _ = audit_with_faults(cli, moto_server, aws, tmp_path, FAULT_TABLES)
    (problem,) = problems_of(report, "bravo")
    assert problem.startswith("DescribeContinuousBackups: malformed answer: RecoveryPeriodInDays is ")
    assert problem.endswith(", out of range for its type") and len(problem) < 150
    assert (tmp_path / "run" / "report.html").is_file()
    runbook = cli("runbook", "bravo", "--region", HOME, "--endpoint-url", aws.url)
    assert runbook.returncode == 3 and "Traceback" not in runbook.stderr
    assert runbook.stderr.splitlines() == [f"tablesafe: error: {ACCOUNT}/{HOME}/bravo: {problem}"]


def _deployed_assembly(moto_server: str, tmp_path: Path) -> Path:
    """cdk.out with one stack, Shop, deployed (to moto) as it is."""
    template = helpers.STACK_TEMPLATE.format(logical_id="Carts", policy="Retain", stack="Shop", table="carts")
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "Shop.template.yaml").write_text(template)
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": f"aws://{ACCOUNT}/{HOME}",
        "properties": {"templateFile": "Shop.template.yaml"},
    }
    (out / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {"Shop": stack}}))
    helpers.client(moto_server, "cloudformation").create_stack(StackName="Shop", TemplateBody=template)
    return out


@pytest.mark.parametrize(
    ("operation", "fault", "error"),
    [
        (
            "GetTemplate",
            "html",
            "deployed:Shop: baseline: GetTemplate: malformed answer: not in the API's format",
        ),
        (
            "GetTemplate",
            "cut_body",
            "deployed:Shop: baseline: GetTemplate: ResponseParserError: the answer is not in the API",
        ),
        (
            "GetCallerIdentity",
            "html",
            "--baseline deployed: sts GetCallerIdentity: malformed answer: not in the API's format",
        ),
    ],
    ids=["html template", "cut XML template", "html identity"],
)
def test_a_hostile_answer_for_the_deployed_baseline_is_one_line_and_the_check_is_reported(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path, operation: str, fault: str, error: str
) -> None:
    """These were KeyError and ResponseParserError tracebacks, and the check's report was lost."""
    out = _deployed_assembly(moto_server, tmp_path)
    endpoint = {"AWS_ENDPOINT_URL": aws.url}
    compared = cli("check", out, "--baseline", "deployed", "--format", "json", cwd=tmp_path, env=endpoint)
    assert compared.returncode == 1 and compared.stderr == ""  # TS001 and TS003, and no TS006
    aws.faults.append(aws_proxy.Fault(operation, fault))
    result = cli("check", out, "--baseline", "deployed", "--format", "json", cwd=tmp_path, env=endpoint)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"tablesafe: error: {error}"), line
    report = json.loads(result.stdout)
    assert report["findings"] == json.loads(compared.stdout)["findings"]
    assert any(e["problem"] in line for e in report["errors"])


def test_a_trickled_deployed_template_costs_one_attempt_deadline(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    """check has no --table-timeout: an attempt ends at the 5 s connect plus 15 s read
    timeout, connect to last byte, and is not retried; the check is still reported."""
    out = _deployed_assembly(moto_server, tmp_path)
    aws.faults.append(aws_proxy.Fault("GetTemplate", "trickle", seconds=0.5))
    started = time.monotonic()
    result = cli(
        "check",
        out,
        "--baseline",
        "deployed",
        "--format",
        "json",
        cwd=tmp_path,
        env={"AWS_ENDPOINT_URL": aws.url},
    )
    assert time.monotonic() - started < 20 + 8
    assert result.returncode == 2
    assert result.stderr == (
        "tablesafe: error: deployed:Shop: baseline: GetTemplate: no complete answer within 20 s "
        "(connect to last byte)\n"
    )
    assert {f["rule_id"] for f in json.loads(result.stdout)["findings"]} == {"TS001", "TS003"}
    assert aws.operations()["GetTemplate"] == 1


# --- every table has its own files, and a run is complete or visibly not ------------------------

ODD_NAMES = ("t" * 255, "...", "___", "Orders", "orders", "ORDERS", "con", "sessions.v2")


def test_table_file_names_are_safe_and_unique() -> None:
    from tablesafe.scanner.blueprint import table_file_stem

    stems = [table_file_stem(name) for name in ODD_NAMES]
    assert stems[-1] == "sessions.v2"  # a plain name is its own file name
    assert len({stem.lower() for stem in stems}) == len(ODD_NAMES)  # even where case does not count
    for stem in stems:
        assert len(f"{stem}.json") <= 255 and not stem.startswith(".")
        assert re.fullmatch(r"[A-Za-z0-9_.~-]+", stem)
    assert table_file_stem("Orders") == table_file_stem("Orders")  # stable from run to run


def test_names_from_answers_must_match_whole() -> None:
    """A trailing newline or a non-ASCII digit never passes for a region, an account or a run."""
    from tablesafe.scanner.aws import ACCOUNT_ID, REGION_NAME
    from tablesafe.scanner.blueprint import table_file_stem
    from tablesafe.scanner.history import RUN_NAME

    assert REGION_NAME.match("us-gov-west-1") and not REGION_NAME.match("us-east-1\n")
    assert ACCOUNT_ID.match(ACCOUNT) and not ACCOUNT_ID.match("\u0661" * 12)
    assert not RUN_NAME.match("2026-01-31T02-00-00Z\n")
    assert "\n" not in table_file_stem("orders\n")


def test_odd_table_names_each_get_their_own_files(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    for name in ODD_NAMES:
        helpers.create_table(moto_server, name)
    result, _ = audit(cli, aws, tmp_path, "--regions", HOME)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    entries = json.loads((run / "summary.json").read_text())["tables"]
    assert sorted(entry["name"] for entry in entries) == sorted(ODD_NAMES)
    files = [entry[kind] for entry in entries for kind in ("blueprint", "runbook", "runbook_page")]
    assert len({path.lower() for path in files}) == len(files)
    for entry in entries:
        assert json.loads((run / entry["blueprint"]).read_text())["table_name"] == entry["name"]
        assert (run / entry["runbook"]).read_text().startswith("# ")
    assert sorted(p.relative_to(run).as_posix() for p in (run / "tables").rglob("*.*")) == sorted(files)
    html = (run / "report.html").read_text()
    assert all(f'<a href="{quote(entry["runbook_page"])}">' in html for entry in entries)


def test_a_rerun_replaces_the_previous_run_whole_and_refuses_a_foreign_directory(
    cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    helpers.create_table(moto_server, "kept")
    helpers.create_table(moto_server, "dropped")
    audit(cli, aws, tmp_path, "--regions", HOME)
    helpers.client(moto_server, "dynamodb").update_table(TableName="dropped", DeletionProtectionEnabled=False)
    helpers.client(moto_server, "dynamodb").delete_table(TableName="dropped")
    result, _ = audit(cli, aws, tmp_path, "--regions", HOME)
    assert result.returncode == 0, result.stderr
    assert "replacing the run there" in result.stderr
    tables = tmp_path / "run" / "tables" / ACCOUNT / HOME
    assert {p.name.partition(".")[0] for p in tables.iterdir()} == {"kept"}  # nothing of "dropped"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine")
    refused = cli(
        "audit", "--endpoint-url", aws.url, "--regions", HOME, "--output-dir", foreign, cwd=tmp_path
    )
    assert refused.returncode == 2
    assert refused.stderr == (
        f"tablesafe: error: {foreign} is not empty and holds no tablesafe run (no summary.json): "
        "refusing to replace it; choose another --output-dir or remove it\n"
    )
    assert [p.name for p in foreign.iterdir()] == ["todo.txt"]


def test_sigint_while_the_run_is_written_leaves_the_previous_run_whole(
    moto_server: str, aws: Any, tmp_path: Path, cli: RunCli
) -> None:
    for index in range(15):
        helpers.create_table(moto_server, f"table-{index:02d}")
    audit(cli, aws, tmp_path, "--regions", HOME)
    run = tmp_path / "run"
    before = (run / "summary.json").read_text()
    env = {**_cli_env(), **FAKE_CREDENTIALS}
    command = [sys.executable, "-m", "tablesafe", "audit", "--endpoint-url", aws.url, "--regions", HOME]
    process = subprocess.Popen(
        [*command, "--output-dir", str(run), "--format", "json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(".run.writing-") for p in tmp_path.iterdir()):
            process.send_signal(signal.SIGINT)
            break
        time.sleep(0.001)
    else:
        pytest.fail("the audit ended before its write phase was seen")
    _, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    summary = json.loads((run / "summary.json").read_text())  # a complete run, either one
    if stderr.endswith(f"tablesafe: error: interrupted: the run was not written; {run} is as it was\n"):
        assert process.returncode == 130
        assert (run / "summary.json").read_text() == before
    else:  # the signal came after the new run was in place
        assert summary["counts"]["tables"] == 15
