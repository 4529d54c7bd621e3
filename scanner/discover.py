"""What to audit: the accounts (own, assumed roles, a whole Organization), their regions and tables.

A refusal for one account or region is recorded as an InputError and the audit goes on
with the others, so a partial answer is still an answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import boto3

from tablesafe.model import InputError
from tablesafe.scanner.aws import (
    ACCOUNT_ID,
    REGION_NAME,
    Account,
    Clients,
    MalformedAnswer,
    answer_field,
    assume_role,
    error_text,
    one_line,
    pages,
)

ALL = "all"
MAX_TABLE_PAGES = 1000
"""ListTables pages of 100 names: 100,000 tables, forty times DynamoDB's default quota per region."""
MAX_ACCOUNT_PAGES = 1000
"""ListAccounts pages of up to 20 accounts: far more accounts than an Organization may hold."""


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
    bad = [a for a in accounts if not ACCOUNT_ID.match(a)]
    if not accounts or bad:
        raise UsageError(f"{option}: expected 12-digit account IDs, got {', '.join(bad) or repr(text)}")
    return accounts


def organization_accounts(base: Account, clients: Clients, home: str) -> list[str]:
    """The ACTIVE accounts of the caller's Organization; raises when refused or when an answer
    is malformed (an account ID becomes part of role ARNs and file paths)."""
    organizations = clients.get(base, home, "organizations")
    accounts: list[str] = []
    for page in pages(
        organizations.list_accounts, token_in="NextToken", token_out="NextToken", max_pages=MAX_ACCOUNT_PAGES
    ):
        for account in answer_field(page, "Accounts", list):
            account_id = answer_field(account, "Id", str)
            if not ACCOUNT_ID.match(account_id):
                raise MalformedAnswer(f"malformed answer: account ID {one_line(repr(account_id), 40)}")
            if account.get("Status") == "ACTIVE":
                accounts.append(account_id)
    return list(dict.fromkeys(accounts))


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
        except Exception as error:  # whatever the answer, only this account is lost
            errors.append(InputError(account_id, f"AssumeRole {role_name}: {error_text(error)}"))
    return accounts, errors


def enabled_regions(account: Account, clients: Clients, home: str) -> list[str]:
    """Regions enabled for the account (opt-in regions only once opted in); raises when the
    answer is refused or malformed, a name that is not a region's included."""
    answer = clients.get(account, home, "ec2").describe_regions(AllRegions=False)
    regions = [answer_field(region, "RegionName", str) for region in answer_field(answer, "Regions", list)]
    bad = [region for region in regions if not REGION_NAME.match(region)]
    if bad:
        raise MalformedAnswer(f"malformed answer: {one_line(repr(bad[0]), 80)} is not a region name")
    return sorted(set(regions))


def list_tables(account: Account, clients: Clients, region: str) -> tuple[list[str], str | None]:
    """The region's table names, and why the listing is incomplete (None when it is not): the
    names of the pages read before a failure are kept, so that those tables are still audited.
    An answer without a TableNames list is a failure, never an empty region."""
    names: list[str] = []
    try:
        dynamodb = clients.get(account, region, "dynamodb")
        for page in pages(
            dynamodb.list_tables,
            token_in="ExclusiveStartTableName",
            token_out="LastEvaluatedTableName",
            max_pages=MAX_TABLE_PAGES,
        ):
            listed = answer_field(page, "TableNames", list)
            if not all(isinstance(name, str) for name in listed):
                raise MalformedAnswer("malformed answer: TableNames holds something other than names")
            names += listed
    except Exception as error:  # whatever the answer, only this region's listing is cut short
        return list(dict.fromkeys(names)), error_text(error)
    return list(dict.fromkeys(names)), None
