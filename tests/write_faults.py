"""Run the tablesafe CLI with one fault injected at one point of a file write, as a user
or the system would cause it: `python write_faults.py EVENT ACTION [TARGET] -- ARGS...`.

EVENT is the audit event of tablesafe.writes.write_file where the fault lands: `open` (the
temporary file was just created), `chmod` (its bytes are written, not yet synced) or
`rename` (just before it replaces the original). ACTION: `sigint` (a real SIGINT to this
process, as Ctrl-C sends it), `edit` (TARGET gets a line appended, as an editor saving it
meanwhile), `swap` (TARGET is replaced by another file with the same content), `fifo`
(TARGET is replaced by a FIFO). Each fault fires once.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

EVENTS = {"open": "open", "chmod": "os.chmod", "rename": "os.rename"}


def _temporary(args: tuple[Any, ...]) -> bool:
    return bool(args) and ".tablesafe-" in os.fsdecode(args[0]) if isinstance(args[0], str | bytes) else False


def main() -> int:
    separator = sys.argv.index("--")
    event, action, *target = sys.argv[1:separator]
    cli_args = sys.argv[separator + 1 :]
    fired = False

    def hook(name: str, args: tuple[Any, ...]) -> None:
        nonlocal fired
        if fired or name != EVENTS[event]:
            return
        if event != "chmod" and not _temporary(args):
            return
        fired = True
        path = Path(target[0]) if target else None
        if action == "sigint":
            signal.raise_signal(signal.SIGINT)
        elif action == "edit" and path is not None:
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n# saved in the editor meanwhile\n")
        elif action == "swap" and path is not None:
            copy = path.with_name(path.name + ".copy")
            copy.write_bytes(path.read_bytes())
            os.replace(copy, path)
        elif action == "fifo" and path is not None:
            path.unlink()
            os.mkfifo(path)

    sys.addaudithook(hook)
    from tablesafe.cli import main as cli_main

    return cli_main(cli_args)


if __name__ == "__main__":
    sys.exit(main())
