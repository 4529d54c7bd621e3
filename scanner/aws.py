"""boto3 sessions and clients for the audit: credentials per account, bounded retries, a
client-side rate limit per (account, region, operation), and deadlines.

The limits keep a large audit under the documented API quotas instead of leaning on
throttling and retries. Retries use botocore's standard mode: a few attempts with jittered
back-off and its per-client retry quota. Adaptive mode is not used: under a throttle storm on
one operation it slows every operation of the client to a crawl, which is what the
per-operation limits here already avoid.

Nothing an endpoint answers can make the audit wait forever: every call has connect and read
timeouts and a retry budget, every paginated call a page cap and a guard against a token seen
before, and every table a deadline (`deadline`), after which its calls are not sent or retried.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.config import Config

from tablesafe import __version__
from tablesafe.scanner.records import DEFAULT_TABLE_TIMEOUT

T = TypeVar("T")

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
MAX_ATTEMPTS = 4
"""Attempts per call, the first included (standard mode): three retries ride out a short burst
of throttling (at most 1 + 2 + 4 seconds of back-off) without letting a throttle storm hold a
table for minutes."""
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
"""Seconds per attempt; the control-plane calls of the audit answer in milliseconds."""
SESSION_NAME = "tablesafe-audit"
REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}\Z", re.ASCII)
"""The shape of every AWS region name (us-east-1, us-gov-west-1, ap-southeast-5): a region
that came from an answer must have it before a client is made for it."""
ACCOUNT_ID = re.compile(r"^\d{12}\Z", re.ASCII)
ONE_LINE_LIMIT = 300
"""Characters of an error message kept in the report: enough for any AWS error message."""


class StartError(Exception):
    """The audit cannot start at all (no credentials, unreachable endpoint): one line, exit 2."""


class AnswerProblem(Exception):
    """An answer the audit cannot use; its message is the whole reason, in the tool's words."""


class MalformedAnswer(AnswerProblem):
    """An answer that parsed but lacks what the call must return: a cut body or an HTML page
    answered with status 200 parse as an empty answer."""


class EndlessPagination(AnswerProblem):
    """A paginated call that would not end: a token seen before, or more pages than any real
    account has."""


class DeadlineExceeded(AnswerProblem):
    """The table's (or the run's) time is up: the call was not sent, or not retried."""


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


def one_line(text: object, limit: int = ONE_LINE_LIMIT) -> str:
    """Text from an answer made fit for a one-line reason: every run of white space (line
    breaks included) becomes one space, and it is cut at limit characters. Other control
    characters stay, for each output's neutralizer (tablesafe.neutralize) to show escaped."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_text(error: BaseException) -> str:
    """One line saying why a call failed: 'Code: message' for an AWS error, the tool's own
    words for an unusable answer, the exception's first line otherwise (never a raw body)."""
    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        return one_line(f"{details.get('Code', 'Error')}: {details.get('Message', '')}".rstrip(": "))
    if isinstance(error, AnswerProblem):
        return one_line(error)
    if isinstance(error, botocore.parsers.ResponseParserError):
        return "ResponseParserError: the answer is not in the API's format (cut short, or not from AWS?)"
    lines = str(error).splitlines()
    return one_line(f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": "))


def error_code(error: Exception) -> str | None:
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return None


AWS_ERRORS = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    botocore.parsers.ResponseParserError,
    AnswerProblem,
)
"""What a single AWS call can raise about the endpoint's answer. Where one table, region or
account is read, any exception is recorded instead (see `collect`): a hostile answer may
raise anything."""


_JSON_KINDS = {dict: "an object", list: "a list", str: "a string"}


def answer_field(answer: Any, key: str, kind: type[T]) -> T:
    """answer[key] when it is a kind (dict, list or str); raises MalformedAnswer otherwise."""
    value = answer.get(key) if isinstance(answer, Mapping) else None
    if not isinstance(value, kind):
        raise MalformedAnswer(f"malformed answer: {key} is missing or not {_JSON_KINDS[kind]}")
    return value


def pages(
    call: Callable[..., Any], *, token_in: str, token_out: str, max_pages: int, **kwargs: Any
) -> Iterator[Mapping[str, Any]]:
    """Every page of a paginated call, following token_out into token_in. A token seen before
    or more than max_pages pages raise EndlessPagination, after the pages already yielded."""
    seen: set[str] = set()
    for _ in range(max_pages):
        page = call(**kwargs)
        if not isinstance(page, Mapping):
            raise MalformedAnswer("malformed answer: not a JSON object")
        yield page
        token = page.get(token_out)
        if not token:
            return
        if not isinstance(token, str):
            raise MalformedAnswer(f"malformed answer: {token_out} is not a string")
        if token in seen:
            raise EndlessPagination(f"pagination does not end: {token_out} repeats a token seen before")
        seen.add(token)
        kwargs[token_in] = token
    raise EndlessPagination(f"pagination does not end: more than {max_pages} pages")


MAX_OBJECT_PAGES = 10_000
"""ListObjectsV2 pages of 1,000 keys: ten million objects under one prefix."""


def list_objects(s3: Any, bucket: str, prefix: str, **options: Any) -> Iterator[Mapping[str, Any]]:
    """Every page of ListObjectsV2 under prefix (options: e.g. Delimiter), bounded like pages()."""
    return pages(
        s3.list_objects_v2,
        token_in="ContinuationToken",
        token_out="NextContinuationToken",
        max_pages=MAX_OBJECT_PAGES,
        Bucket=bucket,
        Prefix=prefix,
        **options,
    )


_deadlines = threading.local()


@contextmanager
def deadline(at: float | None, reason: str) -> Iterator[None]:
    """AWS calls made by this thread in the block are not sent, or not retried, once
    time.monotonic() passes at: they raise DeadlineExceeded(reason) instead. None: no deadline."""
    previous = getattr(_deadlines, "current", None)
    _deadlines.current = None if at is None else (at, reason)
    try:
        yield
    finally:
        _deadlines.current = previous


def _check_deadline() -> None:
    current = getattr(_deadlines, "current", None)
    if current is not None and time.monotonic() >= current[0]:
        raise DeadlineExceeded(current[1])


@dataclass(frozen=True, slots=True)
class Account:
    """Credentials for one account: the caller's own session or an assumed role."""

    id: str
    session: boto3.Session


class Clients:
    """Thread-safe cache of rate-limited, deadline-aware clients per (account, region, service).

    boto3 clients are thread-safe but sessions are not, so clients are created under a lock.
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        max_pool: int = 16,
        limiter: RateLimiter | None = None,
        table_timeout: float = DEFAULT_TABLE_TIMEOUT,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.limiter = limiter or RateLimiter()
        self.config = Config(
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            max_pool_connections=max_pool,
            user_agent_extra=f"tablesafe/{__version__}",
            connect_timeout=min(CONNECT_TIMEOUT, table_timeout),
            # No single attempt may outlast the whole table's time.
            read_timeout=min(READ_TIMEOUT, table_timeout),
        )
        self.cache: dict[tuple[str, str, str], Any] = {}
        self.lock = threading.Lock()

    def get(self, account: Account, region: str, service: str) -> Any:
        if not REGION_NAME.match(region):
            raise MalformedAnswer(f"not a region name: {one_line(repr(region), 80)}")
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
        """Every HTTP attempt, retries included, waits for its operation's token, and none is
        sent or retried after the calling thread's deadline."""

        def wait(event_name: str, **_: Any) -> None:
            _check_deadline()
            self.limiter.acquire(account, region, event_name.rsplit(".", 1)[-1])
            _check_deadline()

        def before_retry(response: Any = None, caught_exception: Any = None, **_: Any) -> None:
            failed = caught_exception is not None or (response is not None and response[0].status_code >= 300)
            if failed:
                _check_deadline()

        client.meta.events.register("before-send", wait)
        # First, so that no back-off sleep starts after the deadline.
        client.meta.events.register_first("needs-retry", before_retry)


def base_account(profile: str | None, clients: Clients, region: str) -> Account:
    """The caller's account, proving the credentials work before any table is read."""
    try:
        session = boto3.Session(profile_name=profile)
        identity = clients.get(Account("caller", session), region, "sts").get_caller_identity()
        account_id = answer_field(identity, "Account", str)
    except botocore.exceptions.ProfileNotFound as error:
        raise StartError(str(error)) from None
    except botocore.exceptions.NoCredentialsError:
        raise StartError("no AWS credentials found (use --profile, or set AWS_PROFILE)") from None
    except AWS_ERRORS as error:
        raise StartError(f"cannot start: sts GetCallerIdentity: {error_text(error)}") from None
    if not ACCOUNT_ID.match(account_id):
        answered = one_line(repr(account_id), 40)
        raise StartError(f"cannot start: sts GetCallerIdentity answered {answered}, not an account ID")
    return Account(account_id, session)


def assume_role(base: Account, clients: Clients, region: str, account_id: str, role_name: str) -> Account:
    """Credentials for account_id through role_name; raises AWS_ERRORS when refused."""
    partition = base.session.get_partition_for_region(region)
    arn = f"arn:{partition}:iam::{account_id}:role/{role_name}"
    answer = clients.get(base, region, "sts").assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME)
    credentials = answer_field(answer, "Credentials", dict)
    session = boto3.Session(
        aws_access_key_id=answer_field(credentials, "AccessKeyId", str),
        aws_secret_access_key=answer_field(credentials, "SecretAccessKey", str),
        aws_session_token=answer_field(credentials, "SessionToken", str),
    )
    return Account(account_id, session)
