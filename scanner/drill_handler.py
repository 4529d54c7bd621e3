"""AWS Lambda steps of the scheduled restore drill (`ScheduledRestoreDrill`'s state machine).

Each step is one short invocation over a JSON state, never a sleep: exports, imports and
restores take minutes to hours, so Step Functions waits between polls (its Wait states read
``wait`` from the state, doubling from FIRST_WAIT to MAX_WAIT seconds). The state machine
calls ``step`` with ``{"step": <name>, "state": <state>}``; the steps are:

- ``select``: the tables of this account and region tagged ``tablesafe:drill=<value>``
  (``{"tables": [{"table": name}, ...]}``, at most MAX_TABLES);
- ``start``: prepare the drill (read-only checks, cost estimate) and start the export;
- ``poll_export``: until the export is complete; then read the sample from the export and
  keep it under the drill's own prefix (a state is limited to 256 KiB);
- ``start_rebuild``, ``poll_rebuild``: the import (or restore) into the scratch table;
- ``compare``: the scratch table against the blueprint, the export's counts and the sample;
- ``finish``: always, also from every step's Catch (``state["error"]``): conclude, delete the
  scratch table and the export objects, write the result to
  ``s3://$TABLESAFE_REPORT_BUCKET/drills/<account>/<region>/<table>/<UTC time>.json`` (where
  the scheduled audit reads it), and publish to ``$TABLESAFE_TOPIC_ARN`` unless proven.

A state is ``{"table", "plan": DrillPlan, "result": DrillResult, "done": bool, "wait": seconds}``.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import boto3

from tablesafe.config import Config
from tablesafe.neutralize import text
from tablesafe.rules.ts008_recreation_unproven import DRILL_TAG

from . import drill
from .aws import answer_field, error_text, one_line, pages
from .drill_results import DRILLS_PREFIX, PROVEN, result_name, summary_text
from .drill_settings import DEFAULT_MAX_COST, DEFAULT_PREFIX, DEFAULT_SAMPLE, DEFAULT_TIMEOUT

FIRST_WAIT, MAX_WAIT = 30, 600
"""Seconds between polls in the state machine: doubling, so a six-hour import is polled about
40 times (each poll a few Step Functions transitions, far below a run's 25,000 events)."""
MAX_TABLES = 500
"""Tables one schedule drills: the Distributed Map reads them from the state (256 KiB)."""
MAX_TAG_PAGES = 100
SUBJECT_LIMIT = 100
ERROR_TYPES = {"RouteFailed": drill.RouteFailed, "CannotStart": drill.CannotStart}
"""The error types a step raises on purpose, by the name the Catch reports."""


@dataclass(frozen=True, slots=True)
class DrillSettings:
    """The drill Lambda's configuration, from the environment variables the construct sets."""

    report_bucket: str
    tag_value: str
    topic_arn: str | None
    options: drill.DrillOptions
    """Every table's drill options; each drill names its table."""


def settings_from_env(env: Mapping[str, str] | None = None) -> DrillSettings:
    """Validated settings; a ValueError names the variable, before any AWS call is made."""
    env = os.environ if env is None else env
    required = {}
    for name in ("TABLESAFE_DRILL_BUCKET", "TABLESAFE_REPORT_BUCKET"):
        required[name] = env.get(name, "").strip()
        if not required[name]:
            raise ValueError(f"{name} is not set")
    keep = env.get("TABLESAFE_KEEP_EXPORTS", "false").strip().lower()
    if keep not in ("true", "false"):
        raise ValueError(f"TABLESAFE_KEEP_EXPORTS: expected true or false, not {keep!r}")
    options = drill.DrillOptions(
        table="",
        bucket=required["TABLESAFE_DRILL_BUCKET"],
        prefix=env.get("TABLESAFE_DRILL_PREFIX", DEFAULT_PREFIX).strip() or DEFAULT_PREFIX,
        sample=int(_number(env, "TABLESAFE_SAMPLE", DEFAULT_SAMPLE, int)),
        max_cost=_number(env, "TABLESAFE_MAX_COST", DEFAULT_MAX_COST, float),
        keep=keep == "true",
        timeout=_number(env, "TABLESAFE_DRILL_TIMEOUT", DEFAULT_TIMEOUT, float),
    )
    return DrillSettings(
        report_bucket=required["TABLESAFE_REPORT_BUCKET"],
        tag_value=env.get("TABLESAFE_DRILL_TAG_VALUE", "monthly").strip() or "monthly",
        topic_arn=env.get("TABLESAFE_TOPIC_ARN", "").strip() or None,
        options=options,
    )


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    text_value = env.get(name, "").strip()
    try:
        value = kind(text_value) if text_value else default
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name}: expected a number of at least 0, not {text_value!r}")
    return float(value)


def _connect(settings: DrillSettings) -> drill.DrillAws:
    return drill.connect(None, None, None, settings.options.timeout)


def _state(plan: drill.DrillPlan, result: drill.DrillResult, *, done: bool, wait: int) -> dict[str, Any]:
    """The state between steps; "table" stays on top, where the state machine names it."""
    return {
        "table": plan.table,
        "plan": plan.to_json(),
        "result": result.to_json(),
        "done": done,
        "wait": wait,
    }


def _load(state: Mapping[str, Any]) -> tuple[drill.DrillPlan, drill.DrillResult, int]:
    return (
        drill.DrillPlan.from_json(state["plan"]),
        drill.DrillResult.from_json(state["result"]),
        int(state.get("wait") or FIRST_WAIT),
    )


def _sample_key(plan: drill.DrillPlan) -> str:
    return f"{plan.prefix}/{drill.SAMPLE_FILE}.gz"


# --- the steps ------------------------------------------------------------------------------------


def select(state: Mapping[str, Any], settings: DrillSettings) -> dict[str, Any]:
    """The tables of this region tagged tablesafe:drill=<value> (Resource Groups Tagging API)."""
    aws = _connect(settings)
    tagging = aws.client("resourcegroupstaggingapi")
    names = []
    for page in pages(
        tagging.get_resources,
        token_in="PaginationToken",
        token_out="PaginationToken",
        max_pages=MAX_TAG_PAGES,
        ResourceTypeFilters=["dynamodb:table"],
        TagFilters=[{"Key": DRILL_TAG, "Values": [settings.tag_value]}],
    ):
        for entry in answer_field(page, "ResourceTagMappingList", list):
            arn = str(entry.get("ResourceARN", "")) if isinstance(entry, Mapping) else ""
            name = arn.rpartition(":table/")[2]
            if name and "/" not in name and not name.startswith(drill.SCRATCH_PREFIX):
                names.append(name)
    names = sorted(set(names))
    if len(names) > MAX_TABLES:
        raise ValueError(
            f"{len(names)} tables are tagged {DRILL_TAG}={settings.tag_value}: at most {MAX_TABLES}"
        )
    return {"tables": [{"table": name} for name in names]}


def start(state: Mapping[str, Any], settings: DrillSettings) -> dict[str, Any]:
    """Prepare the drill of state["table"] and start its export."""
    table = state.get("table")
    if not isinstance(table, str) or not table:
        raise ValueError("start: expected the state to name a table")
    aws = _connect(settings)
    plan = drill.prepare(replace(settings.options, table=table), aws, Config())
    result = drill.DrillResult()
    drill.start_export(aws, plan, result)
    return _state(plan, result, done=False, wait=FIRST_WAIT)


def poll_export(state: Mapping[str, Any], settings: DrillSettings) -> dict[str, Any]:
    """One poll of the export; once complete, the sample is read and kept beside it."""
    plan, result, wait = _load(state)
    aws = _connect(settings)
    done = drill.poll_export(aws, plan, result)
    if done:
        sample = drill.read_sample(aws, plan, result)
        aws.client("s3").put_object(
            Bucket=plan.bucket, Key=_sample_key(plan), Body=gzip.compress(json.dumps(sample).encode())
        )
    return _state(plan, result, done=done, wait=min(wait * 2, MAX_WAIT))


def start_rebuild(state: Mapping[str, Any], settings: DrillSettings) -> dict[str, Any]:
    plan, result, _ = _load(state)
    drill.start_rebuild(_connect(settings), plan, result)
    return _state(plan, result, done=False, wait=FIRST_WAIT)


def poll_rebuild(state: Mapping[str, Any], settings: DrillSettings) -> dict[str, Any]:
    plan, result, wait = _load(state)
    done = drill.poll_rebuild(_connect(settings), plan, result)
    return _state(plan, result, done=done, wait=min(wait * 2, MAX_WAIT))


def compare(state: Mapping[str, Any], settings: DrillSettings) -> dict[str, Any]:
    plan, result, wait = _load(state)
    aws = _connect(settings)
    body = aws.client("s3").get_object(Bucket=plan.bucket, Key=_sample_key(plan))["Body"]
    sample = json.loads(gzip.decompress(body.read()))
    drill.compare(aws, plan, result, sample)
    return _state(plan, result, done=True, wait=wait)


def finish(state: Mapping[str, Any], settings: DrillSettings) -> dict[str, Any]:
    """Conclude (with the error a step's Catch put in state["error"], if any), clean up,
    write the result where the scheduled audit reads it, and publish unless proven."""
    error = _caught(state.get("error"))
    if "plan" not in state:  # the drill could not start: nothing was made, nothing to delete
        table = text(state.get("table", "?"))
        message = f"tablesafe drill of {table} could not start: {one_line(error)}"
        return {"table": state.get("table"), "verdict": None, "published": _publish(settings, table, message)}
    plan, result, _ = _load(state)
    aws = _connect(settings)
    if not result.scratch_started:  # a step may have made it and failed before saying so
        result.scratch_started = _scratch_exists(aws, plan)
    content = drill.finish(aws, plan, result, error)
    key = DRILLS_PREFIX + result_name(content)
    aws.client("s3").put_object(
        Bucket=settings.report_bucket,
        Key=key,
        Body=(json.dumps(content, indent=2) + "\n").encode(),
        ContentType="application/json",
    )
    published = False
    if content["verdict"] != PROVEN:
        published = _publish(
            settings, plan.table, summary_text(content, f"s3://{settings.report_bucket}/{key}")
        )
    return {"table": plan.table, "verdict": content["verdict"], "result_key": key, "published": published}


STEPS = {
    "select": select,
    "start": start,
    "poll_export": poll_export,
    "start_rebuild": start_rebuild,
    "poll_rebuild": poll_rebuild,
    "compare": compare,
    "finish": finish,
}


def step(event: object, context: object) -> dict[str, Any]:
    """The Lambda handler: run event["step"] on event["state"]."""
    if not isinstance(event, Mapping) or event.get("step") not in STEPS:
        raise ValueError(f"step: expected an event {{'step': one of {', '.join(STEPS)}, 'state': {{...}}}}")
    state = event.get("state") or {}
    if not isinstance(state, Mapping):
        raise ValueError("step: the state must be a JSON object")
    return STEPS[event["step"]](state, settings_from_env())


# --- helpers --------------------------------------------------------------------------------------


def _caught(error: Any) -> BaseException | None:
    """The exception a Catch reported ({"Error": type, "Cause": JSON with errorMessage}), as the
    drill's own type when it is one of them (RouteFailed: not recreatable), else Unfinished."""
    if not isinstance(error, Mapping):
        return None
    kind = str(error.get("Error", ""))
    cause = error.get("Cause")
    try:
        message = json.loads(cause).get("errorMessage") if isinstance(cause, str) else None
    except (ValueError, AttributeError):
        message = None
    message = one_line(message or cause or kind or "the step failed")
    return ERROR_TYPES.get(kind, drill.Unfinished)(message if kind in ERROR_TYPES else f"{kind}: {message}")


def _scratch_exists(aws: drill.DrillAws, plan: drill.DrillPlan) -> bool:
    try:
        aws.client("dynamodb").describe_table(TableName=plan.scratch)
    except Exception as error:  # not found, or unreadable: the cleanup tries anyway when unsure
        return "ResourceNotFoundException" not in error_text(error)
    return True


def _publish(settings: DrillSettings, table: str, message: str) -> bool:
    if not settings.topic_arn:
        return False
    subject = f"tablesafe drill: {text(table)} not proven".encode("ascii", "replace").decode()
    boto3.client("sns", region_name=settings.topic_arn.split(":")[3]).publish(
        TopicArn=settings.topic_arn, Subject=subject[:SUBJECT_LIMIT], Message=message
    )
    return True
