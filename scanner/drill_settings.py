"""The restore drill's settings that the command line and the configuration read without
boto3: its routes and defaults, the list prices, and the cost estimate told before anything
is spent.

The prices are AWS list prices (us-east-1, on-demand, at the time of writing) and only
estimate: other regions differ, and `.tablesafe.yaml` can set them (`drill.prices`). The size
the estimate starts from is DescribeTable's TableSizeBytes, which DynamoDB updates about every
six hours. Here, and not in the drill, so that the command line reads them without
importing boto3; the list prices themselves are the default of a configuration key
(tablesafe.config.LIST_PRICES).
"""

from __future__ import annotations

from collections.abc import Mapping

from tablesafe.config import LIST_PRICES

EXPORT_IMPORT = "export-import"
PITR_RESTORE = "pitr-restore"
ROUTES = (EXPORT_IMPORT, PITR_RESTORE)
DEFAULT_PREFIX = "tablesafe-drills"
DEFAULT_SAMPLE = 1000
MAX_SAMPLE = 100_000
DEFAULT_MAX_COST = 1.0
DEFAULT_TIMEOUT = 6 * 3600.0
DEFAULT_OUTPUT_DIR = "drills"
GB = 1 << 30
READ_UNITS_PER_GB_SCANNED = GB / 4096 / 2
"""An eventually consistent scan costs half a read request unit per 4 KB."""


def prices(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The list prices with the configuration's overrides."""
    return {**LIST_PRICES, **(overrides or {})}


def estimate(size_bytes: int, route: str, sample: int, used: Mapping[str, float]) -> float:
    """USD for one drill of a table of size_bytes by route, sampling `sample` items: the
    export (both routes: the restore route exports the same recovery point to compare with),
    the import or the restore, and the reads (the sample by key, strongly consistent, at most
    one unit an item of up to 4 KB; the restore route also counts the restored table)."""
    gb = max(size_bytes, 0) / GB
    reads = sample
    cost = gb * used["export_per_gb"]
    if route == EXPORT_IMPORT:
        cost += gb * used["import_per_gb"]
    else:
        cost += gb * used["restore_per_gb"]
        reads += gb * READ_UNITS_PER_GB_SCANNED
    return cost + reads / 1e6 * used["read_request_per_million"]


def usd(amount: float) -> str:
    """An amount for people: USD 12.50, and less than a cent as such."""
    return "less than USD 0.01" if 0 < amount < 0.005 else f"USD {amount:.2f}"
