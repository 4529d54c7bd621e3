"""What to audit: the accounts (own, assumed roles, a whole Organization), their regions and tables.

A refusal for one account or region is recorded as an InputError and the audit goes on
with the others, so a partial answer is still an answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import boto3

from tablesafe.model import InputError
from tablesafe.scanner.aws import AWS_ERRORS, Account, Clients, assume_role, error_text

ALL = "all"


class UsageError(Exception):
    """Options that cannot work together or name nothing real: one line, exit 2."""


def known_regions() -> set[str]:
    """Every region botocore knows DynamoDB in, across partitions (no API call)."""
    session = boto3.Session()
    return {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("dynamodb", partition_name=partition)
    }


def parse_regions(text: str | None, default: str | None, *, option: str = "--regions") -> list[str] | None:
    """The regions asked for; None means every region enabled for each account. option names
    the setting in messages (the CLI option, or the Lambda's environment variable)."""
    if text is None:
        if default is None:
            raise UsageError("no region: pass --regions R,... (or all), or set AWS_REGION")
        return [default]
    if text.strip() == ALL:
        return None
    regions = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not regions:
        raise UsageError(f"{option}: expected a comma-separated list of regions, or all")
    unknown = sorted(set(regions) - known_regions())
    if unknown:
        raise UsageError(f"{option}: unknown region {', '.join(unknown)}")
    return regions


def parse_accounts(text: str, *, option: str = "--accounts") -> list[str]:
    accounts = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    bad = [a for a in accounts if not (len(a) == 12 and a.isdigit())]
    if not accounts or bad:
        raise UsageError(f"{option}: expected 12-digit account IDs, got {', '.join(bad) or repr(text)}")
    return accounts


def organization_accounts(base: Account, clients: Clients, home: str) -> list[str]:
    """The ACTIVE accounts of the caller's Organization (raises AWS_ERRORS when refused)."""
    pages = clients.get(base, home, "organizations").get_paginator("list_accounts").paginate()
    return [account["Id"] for page in pages for account in page["Accounts"] if account["Status"] == "ACTIVE"]


def resolve_accounts(
    base: Account,
    clients: Clients,
    home: str,
    *,
    role_name: str | None,
    account_ids: Sequence[str],
) -> tuple[list[Account], list[InputError]]:
    """Sessions for every account; the caller's own account uses its own credentials, as
    the management account of an Organization has no member role to assume."""
    if not role_name:
        return [base], []
    accounts: list[Account] = []
    errors: list[InputError] = []
    for account_id in account_ids:
        if account_id == base.id:
            accounts.append(base)
            continue
        try:
            accounts.append(assume_role(base, clients, home, account_id, role_name))
        except AWS_ERRORS as error:
            errors.append(InputError(account_id, f"AssumeRole {role_name}: {error_text(error)}"))
    return accounts, errors


def enabled_regions(account: Account, clients: Clients, home: str) -> list[str]:
    """Regions enabled for the account (opt-in regions only once opted in)."""
    answer = clients.get(account, home, "ec2").describe_regions(AllRegions=False)
    return sorted(region["RegionName"] for region in answer["Regions"])


def list_tables(account: Account, clients: Clients, region: str) -> list[str]:
    pages = clients.get(account, region, "dynamodb").get_paginator("list_tables").paginate()
    return [name for page in pages for name in page.get("TableNames", [])]
