"""The tablesafe rules inside a CDK app: Aspects, a suppression helper and a cdk-nag pack.

    from tablesafe.cdk_aspects import TableSafetyChecks, TableSafetyEnforcer, TableSafetyPack, suppress

Importing this package imports aws-cdk-lib (only CDK apps do); `TableSafetyPack` is
imported on first use, so cdk-nag is needed only by apps that use the pack. The
`tablesafe` command line never imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .checks import TableSafetyChecks
from .enforcer import ENFORCED_METADATA, TableSafetyEnforcer
from .suppress import suppress

if TYPE_CHECKING:
    from .nag import TableSafetyPack

__all__ = ["ENFORCED_METADATA", "TableSafetyChecks", "TableSafetyEnforcer", "TableSafetyPack", "suppress"]


def __getattr__(name: str) -> Any:
    if name == "TableSafetyPack":
        from .nag import TableSafetyPack

        return TableSafetyPack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
