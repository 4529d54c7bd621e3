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
A read timeout bounds each socket read, not the call: an answer trickled a byte at a time
would pass it forever. So each HTTP attempt also has a whole-attempt deadline (connect to
last byte, TLS handshake included: the client's connect plus read timeout, or the thread's
`deadline` if sooner), at which a watchdog thread shuts the attempt's socket down; the
blocked read ends at once, and the call raises DeadlineExceeded without a retry.

Nothing an endpoint answers escapes as anything but AWS_ERRORS either: a client from
`Clients.get` turns any other exception of a call (botocore's parsers raise KeyError on an
HTML page) into MalformedAnswer, and refuses numbers its model's types cannot hold
(RecoveryPeriodInDays = 10**400), so no such value reaches a report.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.awsrequest import (
    AWSHTTPConnection,
    AWSHTTPConnectionPool,
    AWSHTTPSConnection,
    AWSHTTPSConnectionPool,
)
from botocore.config import Config
from botocore.model import Shape

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


# --- the whole-attempt deadline -----------------------------------------------------------


class _Attempt:
    """One HTTP attempt of a call, made by one thread: the socket it reads, shut down if the
    attempt is still running at `at`."""

    def __init__(self, at: float, reason: str) -> None:
        self.at, self.reason = at, reason
        self.connection: Any = None
        self.sock: socket.socket | None = None
        self.owned: socket.socket | None = None
        """A duplicate of a new connection's socket, closed when the attempt ends: TLS takes
        the socket over (detaching it) before its handshake, which may be trickled too."""
        self.done = self.cut = False
        self.lock = threading.Lock()

    def use(self, connection: Any, sock: socket.socket, *, owned: bool = False) -> None:
        """Called by the connection, in the attempt's thread, when it has a socket to read."""
        with self.lock:
            self._close_owned()
            self.connection, self.sock = connection, sock
            self.owned = sock if owned else None
            connection.tablesafe_attempt = self  # the connection's current owner
            if self.cut:  # the deadline passed while connecting
                _shut_down(sock)

    def expire(self) -> None:
        """Called by the watchdog at `at`: shut the socket down unless the attempt is over or
        its connection has gone on to another attempt."""
        with self.lock:
            if self.done:
                return
            self.cut = True
            owned = self.connection is not None and self.connection.tablesafe_attempt is self
            if owned and self.sock is not None:
                _shut_down(self.sock)

    def finish(self) -> bool:
        """End the attempt; whether it was cut."""
        with self.lock:
            self.done = True
            self._close_owned()
            return self.cut

    def _close_owned(self) -> None:
        if self.owned is not None:
            self.owned.close()  # the connection's own descriptor stays open
            self.owned = None


def _shut_down(sock: socket.socket) -> None:
    """End both directions of a socket another thread may be blocked reading: the read
    returns at once. The plain socket's shutdown, also for TLS (the same descriptor)."""
    with contextlib.suppress(OSError):  # closed already
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for the process that expires attempts at their deadlines."""

    def __init__(self) -> None:
        self.due: list[tuple[float, int, _Attempt]] = []
        self.order = itertools.count()
        self.condition = threading.Condition()
        self.thread: threading.Thread | None = None

    def watch(self, attempt: _Attempt) -> None:
        with self.condition:
            heapq.heappush(self.due, (attempt.at, next(self.order), attempt))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="tablesafe-deadlines", daemon=True)
                self.thread.start()
            self.condition.notify()

    def _run(self) -> None:
        while True:
            with self.condition:
                while not self.due or self.due[0][0] > time.monotonic():
                    self.condition.wait(self.due[0][0] - time.monotonic() if self.due else None)
                attempt = heapq.heappop(self.due)[2]
            attempt.expire()


_WATCHDOG = _Watchdog()


def _start_attempt(limit: float) -> None:
    """Arm the deadline of this thread's next attempt: limit seconds from now, or the
    thread's deadline if sooner."""
    _end_attempt()  # one a failure left unfinished, if any
    at, reason = time.monotonic() + limit, f"no complete answer within {limit:g} s (connect to last byte)"
    current = getattr(_deadlines, "current", None)
    if current is not None and current[0] < at:
        at, reason = current
    _deadlines.attempt = _Attempt(at, reason)
    _WATCHDOG.watch(_deadlines.attempt)


def _end_attempt() -> str | None:
    """End this thread's attempt, if one is running; why it was cut, if it was."""
    attempt = getattr(_deadlines, "attempt", None)
    _deadlines.attempt = None
    return attempt.reason if attempt is not None and attempt.finish() else None


class _Watched:
    """botocore's connection classes, telling the thread's attempt each socket they read."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:  # urllib3's: the TCP connection, before any TLS
        sock = super()._new_conn()  # type: ignore[misc]
        self._to_attempt(sock.dup(), owned=True)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        if self.sock is not None:  # a kept-alive connection, or TLS set up by connect()
            self._to_attempt(self.sock)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def _to_attempt(self, sock: socket.socket, *, owned: bool = False) -> None:
        attempt = getattr(_deadlines, "attempt", None)
        if attempt is not None and not attempt.done:
            attempt.use(self, sock, owned=owned)
        elif owned:
            sock.close()


class _WatchedHTTPConnection(_Watched, AWSHTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, AWSHTTPSConnection):
    pass


class _WatchedHTTPPool(AWSHTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(AWSHTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


# --- containment of every answer ------------------------------------------------------------

_INTEGER_LIMITS = {"integer": 2**31, "long": 2**63}


def _check_numbers(answer: Any, shape: Shape | None) -> None:
    """Raise MalformedAnswer for a number of the answer its shape's type cannot hold: an
    integer past 32 or 64 bits, a double that is not finite. botocore checks an answer's
    structure, not its numbers, and json reads 10**400 as an int and 1e400 as infinity."""
    pending: list[tuple[Any, Shape, str]] = [(answer, shape, shape.name)] if shape is not None else []
    while pending:
        value, shape, name = pending.pop()
        kind = shape.type_name
        if kind == "structure" and isinstance(value, Mapping):
            pending.extend((value[key], member, key) for key, member in shape.members.items() if key in value)
        elif kind == "list" and isinstance(value, list):
            pending.extend((item, shape.member, name) for item in value)  # type: ignore[attr-defined]
        elif kind == "map" and isinstance(value, Mapping):
            pending.extend((item, shape.value, name) for item in value.values())  # type: ignore[attr-defined]
        elif kind in ("integer", "long", "float", "double") and isinstance(value, int | float):
            limit = _INTEGER_LIMITS.get(kind)
            fits = (
                math.isfinite(value) if isinstance(value, float) else limit is None or -limit <= value < limit
            )
            if not fits:
                raise MalformedAnswer(
                    f"malformed answer: {name} is {one_line(repr(value), 40)}, out of range for its type"
                )


def _contain(client: Any) -> None:
    """Make every call of client raise only AWS_ERRORS (see the module's docstring).

    No botocore event surrounds a whole call: after-call-error cannot see an exception of an
    after-call handler (the one that decodes GetTemplate's JSON body raises RecursionError on
    a deep one). So the client's _make_api_call, through which every operation, paginator and
    waiter goes, is wrapped, as the AWS X-Ray and OpenTelemetry instrumentations of botocore
    do."""
    make_api_call = client._make_api_call
    service_model = client.meta.service_model

    def contained(operation_name: str, api_params: Mapping[str, Any]) -> Any:
        try:
            answer = make_api_call(operation_name, api_params)
        except Exception as error:
            cut = _end_attempt()
            if cut is not None:  # whatever the cut socket made botocore raise
                raise DeadlineExceeded(cut) from None
            if isinstance(error, AWS_ERRORS):
                raise
            raise MalformedAnswer(
                f"malformed answer: not in the API's format ({type(error).__name__})"
            ) from None
        cut = _end_attempt()
        if cut is not None:  # what parsed of a cut answer is no answer
            raise DeadlineExceeded(cut)
        _check_numbers(answer, service_model.operation_model(operation_name).output_shape)
        return answer

    client._make_api_call = contained


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
                _contain(client)
                self.cache[key] = client
        return client

    def _limit(self, client: Any, account: str, region: str) -> None:
        """Every HTTP attempt, retries included, waits for its operation's token, lasts at
        most the connect plus the read timeout from connect to last byte, and none is sent
        or retried after the calling thread's deadline."""
        attempt_limit = self.config.connect_timeout + self.config.read_timeout

        def wait(event_name: str, **_: Any) -> None:
            _check_deadline()
            self.limiter.acquire(account, region, event_name.rsplit(".", 1)[-1])
            _check_deadline()
            _start_attempt(attempt_limit)

        def before_retry(response: Any = None, caught_exception: Any = None, **_: Any) -> None:
            cut = _end_attempt()
            if cut is not None:  # even a 200: the answer may be cut anywhere, headers included
                raise DeadlineExceeded(cut)
            failed = caught_exception is not None or (response is not None and response[0].status_code >= 300)
            if failed:
                _check_deadline()

        client.meta.events.register("before-send", wait)
        # First, so that no back-off sleep starts after the deadline.
        client.meta.events.register_first("needs-retry", before_retry)
        # The pool classes are created on the first request: from then on, every connection
        # of this client tells its attempt the socket it reads (see _Watched).
        client._endpoint.http_session._pool_classes_by_scheme.update(
            http=_WatchedHTTPPool, https=_WatchedHTTPSPool
        )


def session_region(session: boto3.Session) -> str | None:
    """The region calls go to by default: AWS_REGION first, as the AWS CLI v2 and the SDKs
    read it (botocore reads only AWS_DEFAULT_REGION and the profile)."""
    return os.environ.get("AWS_REGION", "").strip() or session.region_name


def caller_account(session: boto3.Session, clients: Clients, region: str) -> str:
    """The account ID of session's credentials (sts GetCallerIdentity); raises AWS_ERRORS, also
    for an answer that is no account ID (it becomes part of ARNs and file paths)."""
    identity = clients.get(Account("caller", session), region, "sts").get_caller_identity()
    account_id = answer_field(identity, "Account", str)
    if not ACCOUNT_ID.match(account_id):
        raise MalformedAnswer(
            f"malformed answer: Account {one_line(repr(account_id), 40)} is not an account ID"
        )
    return account_id


def base_account(profile: str | None, clients: Clients, region: str) -> Account:
    """The caller's account, proving the credentials work before any table is read."""
    try:
        session = boto3.Session(profile_name=profile)
        return Account(caller_account(session, clients, region), session)
    except botocore.exceptions.ProfileNotFound as error:
        raise StartError(str(error)) from None
    except botocore.exceptions.NoCredentialsError:
        raise StartError("no AWS credentials found (use --profile, or set AWS_PROFILE)") from None
    except AWS_ERRORS as error:
        raise StartError(f"cannot start: sts GetCallerIdentity: {error_text(error)}") from None


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
