"""The tablesafe rules inside a CDK app: a policy-validation plugin, an enforcing Aspect, a
suppression helper and a cdk-nag pack; and the live audit and the restore drills deployed as
scheduled jobs.

    from tablesafe.cdk_aspects import TableSafetyValidator, TableSafetyEnforcer, TableSafetyPack, suppress
    from tablesafe.cdk_aspects import ScheduledTableAudit, TableAuditMemberRoleStack, ScheduledRestoreDrill

`TableSafetyChecks` is the validator under its earlier name (it can still be added as an
Aspect). Importing this package imports aws-cdk-lib (only CDK apps do); `TableSafetyPack`,
`ScheduledTableAudit`, `ScheduledRestoreDrill` and `TableAuditMemberRoleStack` are imported
on first use, so cdk-nag is needed only by apps that use the pack, and the Aspects do not
load the modules of Lambda, Step Functions and the rest. The `tablesafe` command line never
imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .checks import TableSafetyChecks
from .enforcer import ENFORCED_METADATA, TableSafetyEnforcer
from .suppress import suppress
from .validator import TableSafetyValidator

if TYPE_CHECKING:
    from .member_role import TableAuditMemberRoleStack
    from .nag import TableSafetyPack
    from .scheduled_audit import ScheduledTableAudit
    from .scheduled_drill import ScheduledRestoreDrill

__all__ = [
    "ENFORCED_METADATA",
    "ScheduledRestoreDrill",
    "ScheduledTableAudit",
    "TableAuditMemberRoleStack",
    "TableSafetyChecks",
    "TableSafetyEnforcer",
    "TableSafetyPack",
    "TableSafetyValidator",
    "suppress",
]
_LAZY = {
    "ScheduledRestoreDrill": "scheduled_drill",
    "ScheduledTableAudit": "scheduled_audit",
    "TableAuditMemberRoleStack": "member_role",
    "TableSafetyPack": "nag",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
