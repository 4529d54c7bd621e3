"""Messages for an on/off setting that must be provably on (PITR, deletion protection)."""

from __future__ import annotations

from tablesafe.model import Judged, Unknown


def switch_messages(value: Judged, setting: str, prop: str, when_missing: str) -> list[str]:
    """[] when provably on; otherwise one message saying whether it is off, unset or unknowable."""
    if value is True:
        return []
    if isinstance(value, Unknown):
        return [f"{setting} is not provably enabled: {prop} {value.reason}."]
    if value is False:
        return [f"{setting} is disabled ({prop} is false)."]
    return [f"{setting} is not enabled ({when_missing})."]
