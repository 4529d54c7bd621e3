"""`tablesafe audit` and `tablesafe runbook`: registered here so the scanner owns its options.

This module is imported by every command line run: keep boto3 and moto imports inside
the handlers.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def register_commands(commands: Any, add_report_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the scanner's subcommands to the `tablesafe` parser."""
