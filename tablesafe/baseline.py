"""What `tablesafe check` compares the new input with: `--baseline` (a previous assembly or
template, or `deployed`), else the lockfile when there is one."""

from __future__ import annotations

from pathlib import Path

from tablesafe.changes import pair_tables
from tablesafe.lockfile import locked_tables
from tablesafe.model import InputError, LoadResult, TableDescription

DEPLOYED = "deployed"


def _load_baseline_path(spec: str) -> tuple[list[TableDescription], list[InputError]]:
    from tablesafe.loader import load_paths

    if not Path(spec).exists():
        return [], [
            InputError(spec, "baseline does not exist (expected a cloud assembly, a template or 'deployed')")
        ]
    old = load_paths([spec], identity_only=True)
    return old.tables, [InputError(e.path, f"baseline: {e.problem}") for e in old.errors]


def compare(
    loaded: LoadResult, paths: list[str], baseline: str | None, lock: str | Path | None, start: Path
) -> None:
    """Pair loaded's tables with the baseline's, adding the changes, notices and errors."""
    if baseline == DEPLOYED:
        from tablesafe.extras import AWS_CLIENT, missing_extra

        if problem := missing_extra("aws", AWS_CLIENT):  # before the import: deployed imports boto3
            loaded.errors.append(InputError("--baseline deployed", problem))
            return
        from tablesafe.deployed import load_deployed

        old_tables, errors = load_deployed(paths)
        shown = "the deployed stack"
    elif baseline is not None:
        old_tables, errors = _load_baseline_path(baseline)
        shown = f"baseline {baseline}"
    else:
        old_tables, lock_shown, errors = locked_tables(lock, start)
        if lock_shown is None:
            loaded.errors.extend(errors)
            return
        shown = lock_shown
    loaded.errors.extend(errors)
    changes, notices = pair_tables(old_tables, loaded.tables, baseline=shown, new_stacks=loaded.stack_names)
    loaded.changes.extend(changes)
    loaded.notices.extend(notices)
