"""boto3 sessions and clients for the audit: credentials per account, adaptive retries and a
client-side rate limit per (account, region, operation).

The limits keep a large audit under the documented API quotas instead of leaning on
throttling and retries: a throttled call costs a back-off, and adaptive retry mode then
slows the whole client down.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from tablesafe import __version__

RATE_LIMITS: dict[str, float] = {
    # Documented by DynamoDB: 10 calls per second each.
    "DescribeContinuousBackups": 10.0,
    "ListTagsOfResource": 10.0,
    # Not documented: chosen so that they never become the bottleneck behind the two above,
    # yet stay far below what the control plane answers.
    "DescribeTable": 50.0,
    "DescribeTimeToLive": 25.0,
    "ListTables": 10.0,
    "DescribeStackResources": 10.0,
    "GetTemplate": 10.0,
}
DEFAULT_RATE = 5.0
"""Calls per second of every other operation (STS, EC2 DescribeRegions, Organizations ListAccounts)."""
MAX_ATTEMPTS = 8
"""botocore attempts per call (adaptive mode): enough to ride out a burst of throttling."""
SESSION_NAME = "tablesafe-audit"


class StartError(Exception):
    """The audit cannot start at all (no credentials, unreachable endpoint): one line, exit 2."""


class TokenBucket:
    """Spaces calls evenly at `rate` per second; a burst of one keeps any 1-second window of
    the server at or under the limit."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_free = 0.0
        self.lock = threading.Lock()

    def acquire(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_free)
            self.next_free = start + self.interval
        if start > now:
            time.sleep(start - now)


class RateLimiter:
    """One token bucket per (account, region, operation), created on first use."""

    def __init__(self, limits: dict[str, float] | None = None) -> None:
        self.limits = RATE_LIMITS if limits is None else limits
        self.buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self.lock = threading.Lock()

    def acquire(self, account: str, region: str, operation: str) -> None:
        key = (account, region, operation)
        with self.lock:
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(self.limits.get(operation, DEFAULT_RATE))
        bucket.acquire()


def error_text(error: Exception) -> str:
    """'Code: message' for an AWS error, the exception's own text otherwise."""
    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def error_code(error: Exception) -> str | None:
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return None


AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
"""What a single AWS call can raise; the audit records these and goes on."""


@dataclass(frozen=True, slots=True)
class Account:
    """Credentials for one account: the caller's own session or an assumed role."""

    id: str
    session: boto3.Session


class Clients:
    """Thread-safe cache of rate-limited clients per (account, region, service).

    boto3 clients are thread-safe but sessions are not, so clients are created under a lock.
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        max_pool: int = 16,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.limiter = limiter or RateLimiter()
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS},
            max_pool_connections=max_pool,
            user_agent_extra=f"tablesafe/{__version__}",
            connect_timeout=10,
            read_timeout=30,
        )
        self.cache: dict[tuple[str, str, str], Any] = {}
        self.lock = threading.Lock()

    def get(self, account: Account, region: str, service: str) -> Any:
        key = (account.id, region, service)
        with self.lock:
            client = self.cache.get(key)
            if client is None:
                client = account.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self.config
                )
                self._limit(client, account.id, region)
                self.cache[key] = client
        return client

    def _limit(self, client: Any, account: str, region: str) -> None:
        """Every HTTP attempt, retries included, waits for its operation's token."""

        def wait(event_name: str, **_: Any) -> None:
            self.limiter.acquire(account, region, event_name.rsplit(".", 1)[-1])

        client.meta.events.register("before-send", wait)


def base_account(profile: str | None, clients: Clients, region: str) -> Account:
    """The caller's account, proving the credentials work before any table is read."""
    try:
        session = boto3.Session(profile_name=profile)
        identity = clients.get(Account("caller", session), region, "sts").get_caller_identity()
    except botocore.exceptions.ProfileNotFound as error:
        raise StartError(str(error)) from None
    except botocore.exceptions.NoCredentialsError:
        raise StartError("no AWS credentials found (use --profile, or set AWS_PROFILE)") from None
    except AWS_ERRORS as error:
        raise StartError(f"cannot start: sts GetCallerIdentity: {error_text(error)}") from None
    return Account(str(identity["Account"]), session)


def assume_role(base: Account, clients: Clients, region: str, account_id: str, role_name: str) -> Account:
    """Credentials for account_id through role_name; raises AWS_ERRORS when refused."""
    partition = base.session.get_partition_for_region(region)
    arn = f"arn:{partition}:iam::{account_id}:role/{role_name}"
    credentials = clients.get(base, region, "sts").assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME)[
        "Credentials"
    ]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return Account(account_id, session)
