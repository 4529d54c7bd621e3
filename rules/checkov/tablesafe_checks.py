"""tablesafe's rules as checkov CloudFormation checks: TS001, TS003, TS004 and TS007.

One generic check class, instantiated once per rule; instantiating a checkov check
registers it, so this one file provides all four. Each check judges a resource exactly as
``tablesafe check`` does: it reads the resource from the template file checkov names and
runs ``describe_resource`` and the engine's ``judge`` on it, per replica for global tables.

Why not judge checkov's parsed ``conf``: checkov hands checks a rendered resource in which
a ``Ref`` to a parameter with a ``Default`` is replaced by the default (fail-open for a
fail-closed rule), and without ``DeletionPolicy`` or ``UpdateReplacePolicy`` (TS004's
subject). ``conf`` is only used when the template file cannot be read.

TS002 is not offered: it needs the CDK analytics metadata of the assembly, which checkov
does not read. Use ``tablesafe check cdk.out`` for it.

checkov runs in its own environment, where tablesafe is usually not installed: the import
shim below loads ``tablesafe`` from the sources next to this folder (an installed package,
an editable install or a git clone, for ``--external-checks-git``).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

CHECKOV_RULE_IDS = ("TS001", "TS003", "TS004", "TS007")
"""The rules a CloudFormation resource alone can decide (TS002 needs CDK metadata)."""

_LOG = logging.getLogger(__name__)


# --- import shim -------------------------------------------------------------------------


def _load_package(name: str, directory: Path) -> ModuleType:
    """Import the package in ``directory`` under ``name`` (no sys.path change)."""
    spec = importlib.util.spec_from_file_location(
        name, directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name} from {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


def _layouts(checks_dir: Path) -> Iterator[tuple[Path, Path | None]]:
    """(tablesafe package dir, rules dir to map as tablesafe.rules or None) candidates."""
    candidates = [checks_dir]
    # checkov --external-checks-git <repo>//rules/checkov before 3.2.427 copies only the
    # subdir to <tmp>/result/, next to the whole clone in <tmp>/clone/.
    if checks_dir.name == "result":
        candidates.append(checks_dir.parent / "clone" / "rules" / "checkov")
    for candidate in candidates:
        rules_dir = candidate.parent
        if rules_dir.parent.name == "tablesafe" and (rules_dir.parent / "__init__.py").is_file():
            yield rules_dir.parent, None  # a wheel: <site-packages>/tablesafe/rules/checkov
        elif (rules_dir.parent / "tablesafe" / "__init__.py").is_file() and (
            rules_dir / "__init__.py"
        ).is_file():
            yield rules_dir.parent / "tablesafe", rules_dir  # a repository: <repo>/rules/checkov


def _import_tablesafe(checks_dir: Path) -> None:
    """Make ``import tablesafe`` work in checkov's environment, from the sources beside
    ``checks_dir``, so checks and rules always come from the same version.

    - installed (wheel): ``<site-packages>/tablesafe/rules/checkov``: load ``tablesafe``
      from ``<site-packages>/tablesafe`` only, never the whole site-packages (whose boto3
      would clash with checkov's pinned one);
    - a repository (clone, editable install): ``<repo>/rules/checkov``: load ``tablesafe``
      from ``<repo>/tablesafe`` and register ``<repo>/rules`` as ``tablesafe.rules``, the
      mapping that pyproject.toml's package-dir makes at install time. checkov 3.2.427+'s
      ``--external-checks-git`` puts the clone's root on sys.path, so ``tablesafe`` may
      already be imported from there, without ``tablesafe.rules``;
    - otherwise an installed ``tablesafe`` is imported as usual.
    """
    if sys.version_info < (3, 11):  # noqa: UP036 - checkov may run on an older Python
        raise ImportError(f"tablesafe's checkov checks need Python 3.11+, checkov runs on {sys.version}")
    package_dir, rules_dir = next(_layouts(checks_dir), (None, None))
    if package_dir is None:
        return
    if "tablesafe" not in sys.modules:
        _load_package("tablesafe", package_dir)
    if (
        rules_dir
        and "tablesafe.rules" not in sys.modules
        and importlib.util.find_spec("tablesafe.rules") is None
    ):
        _load_package("tablesafe.rules", rules_dir)


_import_tablesafe(Path(__file__).resolve().parent)

from tablesafe.config import Config, load_config  # noqa: E402
from tablesafe.describe import describe_resource  # noqa: E402
from tablesafe.engine import judge  # noqa: E402
from tablesafe.loader import InputProblem, parse_document, read_text  # noqa: E402
from tablesafe.model import GLOBAL_TABLE, TABLE_TYPES, Finding, Rule, Severity, TableDescription  # noqa: E402
from tablesafe.reports import finding_dict  # noqa: E402
from tablesafe.rules import RULES_BY_ID  # noqa: E402
from tablesafe.values import TemplateContext  # noqa: E402

# --- from checkov's view back to the template ----------------------------------------------

_CHECKOV_KEYS = frozenset({"__startline__", "__endline__", "__file__"})
_SEVERITIES = {Severity.ERROR: BcSeverities.HIGH, Severity.WARNING: BcSeverities.MEDIUM}
_ATTRIBUTES = {
    "TS001": ("PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled",),
    "TS003": ("DeletionProtectionEnabled",),
    "TS007": ("PointInTimeRecoverySpecification/RecoveryPeriodInDays",),
}
"""Where each per-replica rule looks, for checkov's evaluated_keys (TS004: the policies)."""


def plain(conf: Any) -> Any:
    """checkov's parsed value as plain Python, without the line and file keys it adds."""
    if isinstance(conf, Mapping):
        return {str(k): plain(v) for k, v in conf.items() if k not in _CHECKOV_KEYS}
    if isinstance(conf, list):
        return [plain(item) for item in conf]
    for kind in (bool, int, float, str):  # checkov's str_node and friends are subclasses
        if isinstance(conf, kind):
            return kind(conf)
    return conf


def resource_from_conf(conf: Mapping[str, Any]) -> dict[str, Any]:
    """checkov's conf as a CloudFormation resource, minus the ``resource_type`` it adds."""
    resource = plain(conf)
    properties = resource.get("Properties")
    if isinstance(properties, dict) and properties.get("resource_type") == resource.get("Type"):
        del properties["resource_type"]
    return resource


def _named_file(conf: Any) -> str | None:
    """The ``__file__`` checkov's parser stored in the conf's nodes, if any."""
    stack = [conf]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if isinstance(item.get("__file__"), str):
                return str(item["__file__"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _runner_file() -> str | None:
    """The absolute template path of the checkov CloudFormation runner calling us."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "check_definitions":
            path = frame.f_locals.get("file_abs_path")
            return path if isinstance(path, str) else None
        frame = frame.f_back
    return None


def template_candidates(conf: Mapping[str, Any], scanned_file: str) -> Iterator[Path]:
    """Where the template of the scanned resource may be, most reliable first."""
    for named in (_named_file(conf), _runner_file()):
        if named:
            yield Path(named)
    yield Path.cwd() / scanned_file.lstrip("/")  # checkov -f names files relative to the cwd


@functools.lru_cache(maxsize=64)
def _template(path: str, mtime_ns: int) -> Mapping[str, Any] | None:
    try:
        document = parse_document(read_text(Path(path)), Path(path))
    except (InputProblem, RecursionError):
        return None
    return document if isinstance(document, Mapping) else None


def template_resource(
    candidates: Iterator[Path], logical_id: str, resource_type: str
) -> tuple[Path, Mapping[str, Any], TemplateContext] | None:
    """The resource as written in its template, and the template's parameters and conditions."""
    for path in candidates:
        try:
            template = _template(str(path.resolve()), path.stat().st_mtime_ns)
        except OSError:
            continue
        resources = template.get("Resources") if template else None
        resource = resources.get(logical_id) if isinstance(resources, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("Type") == resource_type:
            return path, resource, TemplateContext.of(template or {})
    return None


@functools.cache
def _config() -> Config:
    """The nearest ``.tablesafe.yaml`` from checkov's working directory, as for ``tablesafe check``."""
    config, problems = load_config(None, Path.cwd())
    for problem in problems:
        _LOG.warning("tablesafe: %s", problem)
    return config


_reported: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _reported:
        _reported.add(message)
        _LOG.warning("tablesafe: %s", message)


# --- the check ------------------------------------------------------------------------------


class TableSafeCheck(BaseResourceCheck):  # type: ignore[misc]
    """One tablesafe rule as a checkov check on AWS::DynamoDB::Table and ::GlobalTable.

    FAILED when the rule reports an unsuppressed finding on the table or on any replica;
    SKIPPED when every finding is suppressed by tablesafe Metadata or ``.tablesafe.yaml``;
    checkov's own ``Metadata.checkov.skip`` is applied by checkov before the check runs.
    """

    def __init__(self, rule_id: str) -> None:
        self.rule: Rule = RULES_BY_ID[rule_id]
        super().__init__(
            name=self.rule.title,
            id=self.rule.id,
            categories=(CheckCategories.BACKUP_AND_RECOVERY,),
            supported_resources=sorted(TABLE_TYPES),
            guideline=self.rule.help_url,
        )
        severity = _config().severities.get(self.rule.id, self.rule.severity)
        self.severity = Severities[_SEVERITIES.get(severity, BcSeverities.LOW)]
        self._scanned: tuple[str, str] = ("", "")
        self._findings: list[Finding] = []
        self._comment: str | None = None

    def run(
        self,
        scanned_file: str,
        entity_configuration: dict[str, Any],
        entity_name: str,
        entity_type: str,
        skip_info: Any,
    ) -> Any:
        """checkov's run, plus the findings (per replica) in the result for JSON readers."""
        self._scanned = (scanned_file, entity_name)
        self._findings, self._comment = [], None
        result = super().run(
            scanned_file=scanned_file,
            entity_configuration=entity_configuration,
            entity_name=entity_name,
            entity_type=entity_type,
            skip_info=skip_info,
        )
        if self._findings:
            result["tablesafe_findings"] = [finding_dict(finding) for finding in self._findings]
        if self._comment is not None:
            result["suppress_comment"] = self._comment
        return result

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        config = _config()
        if self.rule.id in config.disabled:
            self._comment = f"tablesafe: {self.rule.id} is disabled in {config.path}"
            return CheckResult.SKIPPED
        judged = self.judged(conf, *self._scanned, config)
        self._findings = [finding for finding, _ in judged]
        active = [(f, index) for f, index in judged if not f.suppressed]
        self.details = [_detail(f) for f, _ in active]
        self.evaluated_keys = self._keys(active or judged)
        if active:
            return CheckResult.FAILED
        if judged:
            reasons = sorted({f.suppression_reason or "" for f, _ in judged})
            self._comment = "tablesafe: " + "; ".join(reasons)
            return CheckResult.SKIPPED
        return CheckResult.PASSED

    def judged(
        self, conf: Mapping[str, Any], scanned_file: str, logical_id: str, config: Config
    ) -> list[tuple[Finding, int | None]]:
        """The rule's findings on one resource, suppressions applied, each with the index
        of its replica in Replicas (None for a table or a resource-level rule)."""
        resource_type = str(conf.get("Type", self.entity_type))
        located = template_resource(template_candidates(conf, scanned_file), logical_id, resource_type)
        if located is None:
            _warn_once(
                f"cannot read the template of {logical_id} ({scanned_file}): judging checkov's "
                "rendered resource, which has no DeletionPolicy or UpdateReplacePolicy and "
                "parameter defaults in place of Refs"
            )
            path, resource, ctx = Path(scanned_file), resource_from_conf(conf), TemplateContext()
        else:
            path, resource, ctx = located
        metadata = resource.get("Metadata")
        cdk_path = metadata.get("aws:cdk:path") if isinstance(metadata, Mapping) else None
        identity = TableDescription(
            resource_type=resource_type,
            logical_id=logical_id,
            construct_path=cdk_path if isinstance(cdk_path, str) else None,
            file=str(path),
        )
        tables, problems = describe_resource(resource, ctx, identity)
        for problem in problems:
            _warn_once(f"{path}: resource {logical_id}: {problem}")
        if self.rule.per_resource:
            tables = tables[:1]
        per_replica = resource_type == GLOBAL_TABLE and not self.rule.per_resource
        today = dt.date.today()
        return [
            (finding, index if per_replica and table.replica_region is not None else None)
            for index, table in enumerate(tables)
            for finding in judge(table, self.rule, config, today)
        ]

    def _keys(self, judged: list[tuple[Finding, int | None]]) -> list[str]:
        """checkov's evaluated_keys: the attributes behind the findings."""
        if not judged:
            return []
        if self.rule.per_resource:
            return ["DeletionPolicy", "UpdateReplacePolicy"]
        return [
            ("Properties/" if index is None else f"Properties/Replicas/[{index}]/") + attribute
            for _, index in judged
            for attribute in _ATTRIBUTES.get(self.rule.id, ())
        ]


def _detail(finding: Finding) -> str:
    region = finding.table.replica_region
    return f"replica {region}: {finding.message}" if region else finding.message


checks = [TableSafeCheck(rule_id) for rule_id in CHECKOV_RULE_IDS]
