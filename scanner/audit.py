"""Run the audit: discover the tables, read them concurrently, judge them with the engine.

Discovery failures (an account whose role cannot be assumed, a disabled region, a listing cut
short) and read failures become InputErrors in the report; every table that discovery found is
in it, read or not.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tablesafe.config import Config
from tablesafe.engine import build_report
from tablesafe.model import InputError, Report
from tablesafe.scanner import discover
from tablesafe.scanner.aws import (
    AWS_ERRORS,
    Account,
    Clients,
    StartError,
    base_account,
    deadline,
    error_text,
    session_region,
)
from tablesafe.scanner.collect import NOT_FOUND, OUT_OF_TIME, TableReader
from tablesafe.scanner.drill_results import DrillHistory, TableKey, read_drills
from tablesafe.scanner.live import describe_records
from tablesafe.scanner.records import DEFAULT_TABLE_TIMEOUT, TableRecord

DEFAULT_CONCURRENCY = 16
FALLBACK_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class AuditOptions:
    profile: str | None = None
    regions: str | None = None
    """Comma-separated regions, "all", or None for the session's region."""
    role_name: str | None = None
    accounts: Sequence[str] = ()
    organization: bool = False
    endpoint_url: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    table_timeout: float = DEFAULT_TABLE_TIMEOUT
    """Seconds to read one table before it is reported as not read (--table-timeout)."""


@dataclass(slots=True)
class AuditResult:
    records: list[TableRecord]
    report: Report
    drills: dict[TableKey, DrillHistory] | None = None
    """Each drilled table's drill history; None when the audit read no drill results."""


def _session_region(profile: str | None) -> str | None:
    try:
        return session_region(boto3.Session(profile_name=profile))
    except AWS_ERRORS as error:
        raise StartError(error_text(error)) from None


@dataclass(slots=True)
class AuditScope:
    """Every (account, region) to read, with its credentials, and what could not be resolved."""

    clients: Clients
    regions: list[tuple[Account, str]]
    errors: list[InputError]


def resolve_scope(options: AuditOptions) -> AuditScope:
    """Prove the credentials, assume the roles and list the regions; raises UsageError or
    StartError when the audit cannot begin. A refused account or region is an error of the scope."""
    if options.role_name and not (options.accounts or options.organization):
        raise discover.UsageError("--role-name needs --accounts A,... or --organization")
    if (options.accounts or options.organization) and not options.role_name:
        raise discover.UsageError("--accounts and --organization need --role-name")
    requested = discover.parse_regions(options.regions, _session_region(options.profile))
    home = requested[0] if requested else _session_region(options.profile) or FALLBACK_REGION
    clients = Clients(
        endpoint_url=options.endpoint_url,
        max_pool=options.concurrency + 4,
        table_timeout=options.table_timeout,
    )
    base = base_account(options.profile, clients, home)
    account_ids = list(options.accounts)
    if options.organization:
        try:
            account_ids = discover.organization_accounts(base, clients, home)
        except Exception as error:  # whatever the answer: one line, exit 2
            raise StartError(f"cannot list the Organization's accounts: {error_text(error)}") from None
    accounts, errors = discover.resolve_accounts(
        base, clients, home, role_name=options.role_name, account_ids=account_ids
    )
    regions: list[tuple[Account, str]] = []
    for account in accounts:
        if requested is not None:
            regions += [(account, region) for region in requested]
            continue
        try:
            regions += [(account, region) for region in discover.enabled_regions(account, clients, home)]
        except Exception as error:  # whatever the answer, only this account is lost
            errors.append(InputError(account.id, f"DescribeRegions: {error_text(error)}"))
    return AuditScope(clients, regions, errors)


def read_regions(
    scope: AuditScope,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool | None = None,
    table_timeout: float = DEFAULT_TABLE_TIMEOUT,
    stop_at: float | None = None,
) -> tuple[list[TableRecord], list[InputError]]:
    """Every table of the scope's regions, read concurrently, and the regions whose listing
    failed. stop_at (time.monotonic()) is when to stop reading, e.g. before a Lambda's time runs
    out: no table is started after it, and every table not read is recorded as such."""
    errors: list[InputError] = []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tablesafe") as pool:
        targets = _targets(pool, scope.clients, scope.regions, errors, stop_at)
        reader = TableReader(scope.clients, table_timeout=table_timeout, stop_at=stop_at)
        bar = _progress_bar(len(targets), progress)
        records = []
        for record in pool.map(lambda target: reader.read(*target), targets):
            records.append(record)
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()
    return records, errors


def judge_records(
    records: list[TableRecord], errors: list[InputError], config: Config, drills: Path | None = None
) -> AuditResult:
    """The report of what was read, whichever process read it (one audit, or merged parts);
    drills: the folder of drill results to read (tablesafe drill --output-dir), if any."""
    records = merge_global_tables(sorted(records, key=lambda r: (r.account, r.region, r.name)))
    histories = None
    if drills is not None:
        histories, drill_errors = read_drills(drills, ((r.account, r.region, r.name) for r in records))
        errors = [*errors, *drill_errors]
    proven = None
    if histories is not None:
        proven = {key: day for key, history in histories.items() if (day := history.proven_day)}
    loaded = describe_records(records, proven)
    loaded.errors[:0] = errors
    return AuditResult(records, build_report(loaded, config), histories)


def run_audit(
    options: AuditOptions,
    config: Config,
    *,
    progress: bool | None = None,
    stop_at: float | None = None,
    drills: Path | None = None,
) -> AuditResult:
    """Audit every table in scope; raises UsageError or StartError when it cannot begin.
    stop_at: see read_regions; drills: see judge_records."""
    scope = resolve_scope(options)
    records, errors = read_regions(
        scope,
        concurrency=options.concurrency,
        progress=progress,
        table_timeout=options.table_timeout,
        stop_at=stop_at,
    )
    return judge_records(records, scope.errors + errors, config, drills)


def merge_global_tables(records: list[TableRecord]) -> list[TableRecord]:
    """One record per global table: ListTables lists a replica in every region, and the
    first record read (in account, region order) already holds the others as replicas."""
    covered: set[tuple[str, str, str]] = set()
    kept = []
    for record in records:
        if (record.account, record.region, record.name) in covered:
            continue
        kept.append(record)
        covered.update((record.account, replica.region, record.name) for replica in record.replicas)
    return kept


def _targets(
    pool: ThreadPoolExecutor,
    clients: Clients,
    regions: list[tuple[Account, str]],
    errors: list[InputError],
    stop_at: float | None,
) -> list[tuple[Account, str, str]]:
    """(account, region, table) for every table found, sorted; listing failures go into errors."""

    def tables(target: tuple[Account, str]) -> tuple[list[str], str | None]:
        with deadline(stop_at, OUT_OF_TIME):
            return discover.list_tables(target[0], clients, target[1])

    found: list[tuple[Account, str, str]] = []
    for (account, region), (names, problem) in zip(regions, pool.map(tables, regions), strict=True):
        if problem is not None:
            errors.append(InputError(f"{account.id}/{region}", f"ListTables: {problem}"))
        found += [(account, region, name) for name in names]
    return sorted(found, key=lambda target: (target[0].id, target[1], target[2]))


def _progress_bar(total: int, progress: bool | None) -> Any:
    """A tqdm bar on stderr, shown only on a terminal so logs and pipes stay clean (and tqdm,
    absent where the audit runs unattended, e.g. in a Lambda, is imported only then)."""
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="table", desc="auditing", file=sys.stderr, leave=False)


def resolve_region(region: str | None, profile: str | None) -> str:
    """The one region a command about one table works in: --region, else the session's;
    raises UsageError when there is none or it is not a region."""
    region = region or _session_region(profile)
    if region is None:
        raise discover.UsageError("no region: pass --region R, or set AWS_REGION")
    if region not in discover.known_regions():
        raise discover.UsageError(f"--region: unknown region {region}")
    return region


def read_table(
    name: str, *, region: str | None, profile: str | None, endpoint_url: str | None
) -> TableRecord:
    """One table read exactly as the audit reads it (for `tablesafe runbook`)."""
    region = resolve_region(region, profile)
    clients = Clients(endpoint_url=endpoint_url)
    record = TableReader(clients).read(base_account(profile, clients, region), region, name)
    if record.describe is None:
        reason = record.problems[0].message if record.problems else "not found"
        if reason.startswith(NOT_FOUND):
            raise discover.UsageError(f"table {name} does not exist in {region}")
        raise StartError(f"table {name} in {region}: DescribeTable: {reason}")
    return record
