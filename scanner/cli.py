"""`tablesafe audit`, `tablesafe runbook` and `tablesafe drill`: registered here so the
scanner owns its options.

This module is imported by every command line run: keep boto3 and moto imports inside
the handlers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tablesafe.extras import AWS_CLIENT, install_hint, is_third_party, missing_extra
from tablesafe.model import Report
from tablesafe.output import say
from tablesafe.scanner import drill_settings
from tablesafe.scanner.records import DEFAULT_TABLE_TIMEOUT

EXIT_INTERRUPTED = 130
"""As a shell reports a command ended by SIGINT."""
EXIT_PARTIAL = 3
"""Some reads failed: the report is complete about what it knows, and says what it does not."""
DEMO_REGIONS = "us-east-1,eu-west-1"
_DEMO_EXCLUSIVE = ("profile", "endpoint_url", "role_name", "accounts", "organization")


def _bounded(
    kind: type[int] | type[float], minimum: float, maximum: float, *, above: bool, expected: str
) -> Any:
    """An argparse type: a finite number of kind from minimum (excluded when above) to maximum."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (
            value is None
            or not math.isfinite(value)
            or not minimum <= value <= maximum
            or (above and value == minimum)
        ):
            raise argparse.ArgumentTypeError(f"expected {expected}, not {text!r}")
        return value

    return parse


INFINITY = float("inf")
_positive = _bounded(int, 1, INFINITY, above=False, expected="a whole number of at least 1")
_seconds = _bounded(float, 0, INFINITY, above=True, expected="a number of seconds above 0")
_sample_size = _bounded(
    int,
    0,
    drill_settings.MAX_SAMPLE,
    above=False,
    expected=f"a whole number from 0 to {drill_settings.MAX_SAMPLE:,}",
)
_usd = _bounded(float, 0, INFINITY, above=False, expected="an amount of USD of at least 0")
_UNITS = {"s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> float:
    """Seconds, or a number with s, m or h: 90, 30m, 6h."""
    unit = text[-1:].lower()
    number = text[:-1] if unit in _UNITS else text
    try:
        return _seconds(number) * _UNITS.get(unit, 1)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90, 30m or 6h, not {text!r}") from None


def register_commands(commands: Any, add_report_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the scanner's subcommands to the `tablesafe` parser."""
    audit = commands.add_parser(
        "audit",
        help="audit deployed DynamoDB tables (read-only) and record how to recreate each",
        description="Audit the deployed DynamoDB tables of one or more accounts, read-only, and write "
        "each table's blueprint and recreation runbook under --output-dir. Exit codes: 0 clean, "
        "1 findings at or above --fail-on, 2 usage error or cannot start, 3 partial (some reads failed).",
    )
    audit.add_argument("--profile", metavar="P", help="AWS profile (default: the usual credential chain)")
    audit.add_argument(
        "--regions",
        metavar="R,...|all",
        help="regions to audit, or all enabled ones (default: the profile's)",
    )
    audit.add_argument("--role-name", metavar="N", help="role to assume in every account of --accounts")
    scope = audit.add_mutually_exclusive_group()
    scope.add_argument("--accounts", metavar="A,...", help="account IDs to audit through --role-name")
    scope.add_argument(
        "--organization", action="store_true", help="audit every ACTIVE account of the AWS Organization"
    )
    audit.add_argument(
        "--output-dir", metavar="DIR", help="where to write the run (default: ./tablesafe-audit/<UTC time>/)"
    )
    audit.add_argument("--endpoint-url", metavar="URL", help="AWS-compatible endpoint for every service")
    audit.add_argument(
        "--demo",
        action="store_true",
        help="audit sample tables in an embedded local AWS (moto) instead; needs the demo extra: "
        "pip install 'tablesafe[demo]'",
    )
    audit.add_argument(
        "--concurrency", type=_positive, default=16, metavar="N", help="tables read at once (default: 16)"
    )
    audit.add_argument(
        "--table-timeout",
        type=_seconds,
        default=DEFAULT_TABLE_TIMEOUT,
        metavar="SECONDS",
        help="time to read one table, retries included, before it is reported as not read "
        f"(default: {DEFAULT_TABLE_TIMEOUT:g})",
    )
    audit.add_argument(
        "--config", metavar="FILE", help="configuration file (default: nearest .tablesafe.yaml)"
    )
    audit.add_argument(
        "--drills",
        metavar="DIR",
        help="restore-drill results to read (tablesafe drill --output-dir): each table's last drill "
        "in the report, summary.json and runbooks, and what TS008 judges",
    )
    add_report_options(audit)
    audit.set_defaults(handler=_audit)

    runbook = commands.add_parser(
        "runbook",
        help="print the recreation runbook of one deployed table",
        description="Read one deployed table as the audit does and print its recreation runbook.",
    )
    runbook.add_argument("table", metavar="TABLE", help="table name")
    runbook.add_argument("--region", metavar="R", help="the table's region (default: the profile's)")
    runbook.add_argument("--profile", metavar="P", help="AWS profile")
    runbook.add_argument("--endpoint-url", metavar="URL", help="AWS-compatible endpoint")
    runbook.set_defaults(handler=_runbook)
    _register_drill(commands)


def _register_drill(commands: Any) -> None:
    drill = commands.add_parser(
        "drill",
        help="prove that a deployed table can be recreated: export, import (or restore) into a "
        "scratch table, compare, clean up",
        description="Run the table's recreation route for real into a scratch table "
        "(tablesafe-drill-<id>), compare it with the blueprint and the export, measure each phase, "
        "delete what it made and write the result under --output-dir. The source table is only "
        "read and exported. Exit codes: 0 proven, 1 not recreatable as recorded, 2 usage error or "
        "cannot start (no PITR, no bucket, over --max-cost), 3 could not finish, 130 interrupted.",
    )
    drill.add_argument("table", nargs="?", metavar="TABLE", help="table name")
    drill.add_argument("--region", metavar="R", help="the table's region (default: the profile's)")
    drill.add_argument("--profile", metavar="P", help="AWS profile")
    drill.add_argument("--endpoint-url", metavar="URL", help="AWS-compatible endpoint")
    drill.add_argument(
        "--route",
        choices=drill_settings.ROUTES,
        help=f"default: {drill_settings.EXPORT_IMPORT} (the runbook's route), or "
        f"{drill_settings.PITR_RESTORE} for a table with local secondary indexes",
    )
    drill.add_argument("--bucket", metavar="B", help="S3 bucket for the export (both routes export)")
    drill.add_argument(
        "--prefix",
        metavar="P",
        default=drill_settings.DEFAULT_PREFIX,
        help=f"key prefix; the export goes to P/<drill id>/ (default: {drill_settings.DEFAULT_PREFIX})",
    )
    drill.add_argument(
        "--sample",
        type=_sample_size,
        default=drill_settings.DEFAULT_SAMPLE,
        metavar="N",
        help=f"exported items compared with the scratch table (default: {drill_settings.DEFAULT_SAMPLE:,})",
    )
    drill.add_argument(
        "--max-cost",
        type=_usd,
        default=drill_settings.DEFAULT_MAX_COST,
        metavar="USD",
        help="stop before any paid call when the estimated cost is higher "
        f"(default: {drill_settings.DEFAULT_MAX_COST:g})",
    )
    drill.add_argument("--yes", action="store_true", help="drill even when the estimate exceeds --max-cost")
    drill.add_argument(
        "--keep", action="store_true", help="keep the export objects (default: delete them at the end)"
    )
    drill.add_argument(
        "--output-dir",
        metavar="DIR",
        default=drill_settings.DEFAULT_OUTPUT_DIR,
        help="where results go: DIR/<account>/<region>/<table>/<UTC time>.json "
        f"(default: {drill_settings.DEFAULT_OUTPUT_DIR}; tablesafe audit --drills DIR reads them)",
    )
    drill.add_argument(
        "--timeout",
        type=_duration,
        default=drill_settings.DEFAULT_TIMEOUT,
        metavar="DURATION",
        help="time for export, rebuild and compare, e.g. 90, 30m, 6h (default: 6h)",
    )
    drill.add_argument("--config", metavar="FILE", help="configuration file (drill.prices)")
    drill.add_argument(
        "--cleanup",
        action="store_true",
        help="instead of a drill: delete scratch tables older than a day that carry a drill tag",
    )
    drill.set_defaults(handler=_drill)


def _fail(message: object) -> int:
    say(f"error: {message}")
    return 2


def _missing_extra(error: ModuleNotFoundError, extra: str, command: str) -> int:
    """One line for a module the up-front check (missing_extra) cannot foresee, such as a
    dependency of the extra's packages; a missing part of tablesafe itself is a bug."""
    if not is_third_party(error):
        raise error
    return _fail(f"{command} {install_hint(extra, [str(error.name)])}")


def audit_exit_code(report: Report, fail_on: str) -> int:
    """Partial (3) wins over findings (1): a clean-looking partial run must not pass a gate."""
    from tablesafe.output import exit_code

    return EXIT_PARTIAL if report.errors else exit_code(report, fail_on)


def default_output_dir(now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H-%M-%SZ")
    return Path("tablesafe-audit") / stamp


def _audit(args: argparse.Namespace) -> int:
    from tablesafe.config import load_config
    from tablesafe.output import EXIT_INPUT, emit_report

    if args.demo and (used := [f"--{o.replace('_', '-')}" for o in _DEMO_EXCLUSIVE if getattr(args, o)]):
        return _fail(f"--demo runs against its own local endpoint: drop {', '.join(used)}")
    extra, command = ("demo", "audit --demo") if args.demo else ("aws", "audit")
    if problem := missing_extra(extra):
        return _fail(f"{command} {problem}")
    config, config_errors = load_config(args.config, Path.cwd())
    if config_errors:
        for error in config_errors:
            _fail(error)
        return EXIT_INPUT
    try:
        from tablesafe.scanner.audit import AuditOptions, run_audit
        from tablesafe.scanner.aws import StartError
        from tablesafe.scanner.discover import UsageError, parse_accounts
        from tablesafe.scanner.history import (
            OutputDirError,
            check_output_dir,
            find_previous_run,
            is_run,
            write_audit,
        )
    except ModuleNotFoundError as error:
        return _missing_extra(error, extra, command)
    output_dir = Path(args.output_dir) if args.output_dir else default_output_dir()
    drills = Path(args.drills) if args.drills else None
    if drills is not None and not drills.is_dir():
        return _fail(f"--drills: {drills} is not a directory of drill results (tablesafe drill --output-dir)")
    try:
        check_output_dir(output_dir)  # before the audit, not after an hour of reading
        options = AuditOptions(
            profile=args.profile,
            regions=args.regions,
            role_name=args.role_name,
            accounts=parse_accounts(args.accounts) if args.accounts else (),
            organization=args.organization,
            endpoint_url=args.endpoint_url,
            concurrency=args.concurrency,
            table_timeout=args.table_timeout,
        )
        if args.demo:
            try:
                from tablesafe.scanner.demo import demo_endpoint
            except ModuleNotFoundError as error:
                return _missing_extra(error, extra, command)

            with demo_endpoint() as url:
                options = AuditOptions(
                    regions=args.regions or DEMO_REGIONS,
                    endpoint_url=url,
                    concurrency=args.concurrency,
                    table_timeout=args.table_timeout,
                )
                result = run_audit(options, config, drills=drills)
        else:
            result = run_audit(options, config, drills=drills)
    except (UsageError, StartError, OutputDirError) as error:
        return _fail(error)
    replacing = is_run(output_dir)
    try:
        previous = find_previous_run(output_dir.parent, output_dir)
        write_audit(output_dir, result, previous=previous)
    except OutputDirError as error:
        return _fail(error)
    except OSError as error:
        return _fail(f"{output_dir}: cannot write the audit: {error.strerror or error}")
    except KeyboardInterrupt:
        _fail(f"interrupted: the run was not written; {output_dir} is as it was")
        return EXIT_INTERRUPTED
    say(
        f"audited {len(result.records)} tables; wrote {output_dir}"
        + (" (replacing the run there)" if replacing else "")
    )
    return emit_report(result.report, args, audit_exit_code)


def _runbook(args: argparse.Namespace) -> int:
    if problem := missing_extra("aws", AWS_CLIENT):
        return _fail(f"runbook {problem}")
    try:
        from tablesafe.scanner.audit import read_table
        from tablesafe.scanner.aws import StartError
        from tablesafe.scanner.blueprint import blueprint
        from tablesafe.scanner.discover import UsageError
        from tablesafe.scanner.live import where
        from tablesafe.scanner.runbook import render_runbook
    except ModuleNotFoundError as error:
        return _missing_extra(error, "aws", "runbook")
    try:
        record = read_table(
            args.table, region=args.region, profile=args.profile, endpoint_url=args.endpoint_url
        )
    except (UsageError, StartError) as error:
        return _fail(error)
    text = render_runbook(blueprint(record))
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    for problem in record.problems:
        table = where(record.account, problem.region or record.region, record.name)
        _fail(f"{table}: {problem.api}: {problem.message}")
    return EXIT_PARTIAL if record.problems else 0


def _drill(args: argparse.Namespace) -> int:
    from tablesafe.config import load_config
    from tablesafe.output import EXIT_INPUT, write_stdout

    if args.cleanup == bool(args.table):
        return _fail("drill: name a TABLE, or pass --cleanup (without one)")
    if problem := missing_extra("aws", AWS_CLIENT):
        return _fail(f"drill {problem}")
    output_dir = Path(args.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        return _fail(f"{output_dir} exists and is not a directory: choose another --output-dir")
    config, config_errors = load_config(args.config, Path.cwd())
    if config_errors:
        for error in config_errors:
            _fail(error)
        return EXIT_INPUT
    try:
        from tablesafe.scanner import drill
        from tablesafe.scanner.drill_results import summary_text, write_result
    except ModuleNotFoundError as error:
        return _missing_extra(error, "aws", "drill")
    try:
        aws = drill.connect(args.region, args.profile, args.endpoint_url, args.timeout)
        if args.cleanup:
            lines, problems = drill.cleanup_leftovers(aws)
            write_stdout("\n".join(lines) or "no scratch tables of drills")
            for problem in problems:
                _fail(problem)
            return EXIT_PARTIAL if problems else 0
        options = drill.DrillOptions(
            table=args.table,
            route=args.route,
            bucket=args.bucket,
            prefix=args.prefix,
            sample=args.sample,
            max_cost=args.max_cost,
            yes=args.yes,
            keep=args.keep,
            timeout=args.timeout,
        )
        plan = drill.prepare(options, aws, config)
    except drill.DrillProblem as problem:
        say(f"error: {problem}")
        return problem.exit_code
    leftovers = drill.leftover_tables(aws)
    if leftovers:
        shown = ", ".join(leftovers[:5]) + (f" and {len(leftovers) - 5} more" if len(leftovers) > 5 else "")
        say(
            f"warning: {len(leftovers)} scratch tables of earlier drills remain ({shown}); "
            "tablesafe drill --cleanup deletes those older than a day"
        )
    cost = drill_settings.usd(plan.estimate_usd)
    say(
        f"drill {plan.drill_id}: {plan.table} by {plan.route}, estimated {cost}, scratch table {plan.scratch}"
    )
    result = drill.drill(aws, plan, lambda message: say(f"drill {plan.drill_id}: {message}"))
    try:
        path: str | None = str(write_result(output_dir, result))
    except OSError as error:
        path = None
        _fail(f"{output_dir}: cannot write the drill's result: {error.strerror or error}")
    write_stdout(summary_text(result, path))
    for leftover in result["leftovers"]:
        say(f"error: left behind: {leftover}")
    return result["exit_code"] if path else EXIT_INPUT
