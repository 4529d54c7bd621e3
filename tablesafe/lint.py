"""`tablesafe lint`: CDK source files for pre-commit, without synth."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def register_lint_command(
    commands: Any, add_report_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add `lint` to the `tablesafe` parser."""
