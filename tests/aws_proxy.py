"""An HTTP proxy in front of a moto server that records every AWS call and injects faults.

Faults are injected where real ones happen, on the wire: the code under test sees the same
status codes and error bodies AWS sends (throttling, AccessDenied, a table that is gone),
through botocore's own parsing and retries, and the hostile answers an endpoint can give
(SPEC, "Hostile answers seen from an endpoint"): a 200 whose body is cut short (JSON or XML,
whichever the service speaks), an HTML page with status 200, pagination tokens that alternate
or repeat forever, a call that stalls. Also usable by the benchmarks:

    proxy = AwsProxy(moto_url, rate_limits={"DescribeContinuousBackups": 10})
    with proxy:
        ... point the audit at proxy.url ...
    proxy.throttled  # how many calls the rate limit refused
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True, slots=True)
class Call:
    """One request as AWS would bill it: service, operation, region and (DynamoDB) table."""

    service: str
    operation: str
    region: str
    table: str | None = None


@dataclass(slots=True)
class Fault:
    """Answer matching calls with an AWS error or a hostile answer instead of the real one."""

    operation: str
    error: str
    """An AWS error: "throttle", "access_denied" or "not_found". A hostile answer:
    "cut_body" (the real answer, status 200, cut to half its length), "html" (a captive
    portal's page, status 200), "stall" (the real answer after `seconds`), "trickle" (the real
    answer, status line and headers included, one byte every `seconds`), "alternate_tokens"
    (the real first page again and again, with a next-page token alternating between two
    values), "endless_token" (the same, always with one token)."""
    table: str | None = None
    region: str | None = None
    times: int | None = None
    """How many calls to answer so; None: every one."""
    seconds: float = 0.0
    """How long a "stall" holds the call; the time between two bytes of a "trickle"."""
    hits: int = 0

    def matches(self, call: Call) -> bool:
        return (
            call.operation == self.operation
            and self.table in (None, call.table)
            and self.region in (None, call.region)
            and self.times != 0
        )


Rewrite = Callable[[Call, dict[str, Any]], None]
"""Edits a JSON answer in place (e.g. adds Replicas to DescribeTable, which moto lacks)."""


class _Bucket:
    """The server side of a rate limit: `rate` tokens per second, a burst of `rate`."""

    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.stamp = rate, rate, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class AwsProxy:
    upstream: str
    rate_limits: dict[str, float] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    throttled: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.released = threading.Event()
        """Set by reset() and on exit: a stalled call ends at once instead of outliving its test."""
        self.buckets = {operation: _Bucket(rate) for operation, rate in self.rate_limits.items()}
        target = urllib.parse.urlsplit(self.upstream)
        self.target = (target.hostname or "127.0.0.1", target.port or 80)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AwsProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        self.released.set()
        self.released = threading.Event()
        with self.lock:
            self.calls.clear()
            self.faults.clear()
            self.rewrites.clear()
            self.throttled.clear()

    def operations(self, service: str | None = None) -> Counter[str]:
        return Counter(c.operation for c in self.calls if service in (None, c.service))

    # --- the proxying ---------------------------------------------------------------------

    def _decide(self, call: Call) -> Fault | None:
        """The fault to answer with, if any; records the call."""
        with self.lock:
            self.calls.append(call)
            for fault in self.faults:
                if fault.matches(call):
                    if fault.times is not None:
                        fault.times -= 1
                    fault.hits += 1
                    return fault
            bucket = self.buckets.get(call.operation)
            if bucket is not None and not bucket.take():
                self.throttled[call.operation] += 1
                return Fault(call.operation, "throttle")
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                self._proxy()

            def do_GET(self) -> None:
                self._proxy()

            def do_HEAD(self) -> None:
                self._proxy()

            def do_PUT(self) -> None:
                self._proxy()

            def do_DELETE(self) -> None:
                self._proxy()

            def _proxy(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = _describe_call(self.headers, body, self.command, self.path)
                fault = proxy._decide(call)
                kind = fault.error if fault is not None else None
                if kind in _ERROR_KINDS:
                    status, headers, payload = _error_answer(
                        kind, call, json_protocol="X-Amz-Target" in self.headers
                    )
                elif kind == "html":
                    status, headers, payload = 200, {"Content-Type": "text/html"}, CAPTIVE_PORTAL
                else:
                    if kind == "stall":
                        proxy.released.wait(fault.seconds)
                    if kind in _TOKEN_KINDS:
                        body = _without_token(call, body)
                    status, headers, payload = proxy._forward(self.command, self.path, self.headers, body)
                    if status == 200 and proxy.rewrites and "json" in headers.get("Content-Type", ""):
                        answer = json.loads(payload)
                        for rewrite in proxy.rewrites:
                            rewrite(call, answer)
                        headers, payload = _with_crc(headers, json.dumps(answer).encode())
                    if kind in _TOKEN_KINDS:
                        answer = json.loads(payload)
                        answer[_TOKENS[call.operation][1]] = (
                            f"t{fault.hits % 2 if kind == 'alternate_tokens' else 0:04d}"
                        )
                        headers, payload = _with_crc(headers, json.dumps(answer).encode())
                    if kind == "cut_body":
                        payload = payload[: len(payload) // 2]
                        headers = {k: v for k, v in headers.items() if k.lower() != "x-amz-crc32"}
                if kind == "trickle":
                    self._trickle(status, headers, payload, fault.seconds)
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _trickle(self, status: int, headers: dict[str, str], payload: bytes, seconds: float) -> None:
                """The whole answer a byte at a time, until it is sent, the client hangs up or
                the proxy is released (then the connection is closed, the answer unfinished)."""
                head = "".join([f"HTTP/1.1 {status} OK\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items())])
                answer = f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
                released = proxy.released
                self.close_connection = True
                for index in range(len(answer)):
                    try:
                        self.wfile.write(answer[index : index + 1])
                    except OSError:  # the client hung up
                        return
                    if released.wait(seconds):
                        return

        return Handler

    def _forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(*self.target, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
            connection.request(method, path, body=body, headers=forwarded)
            response = connection.getresponse()
            payload = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS}
            return response.status, kept, payload
        finally:
            connection.close()


_ERROR_KINDS = {"throttle", "access_denied", "not_found"}
_TOKEN_KINDS = {"alternate_tokens", "endless_token"}
_TOKENS = {
    "ListTables": ("ExclusiveStartTableName", "LastEvaluatedTableName"),
    "ListTagsOfResource": ("NextToken", "NextToken"),
}
"""(request token, answer token) of the paginated operations a token fault applies to."""
CAPTIVE_PORTAL = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Accept the terms</body></html>"
)


def _with_crc(headers: dict[str, str], payload: bytes) -> tuple[dict[str, str], bytes]:
    """The headers with x-amz-crc32 (which botocore checks for DynamoDB) matching payload."""
    if "x-amz-crc32" in {name.lower() for name in headers}:
        headers = {k: v for k, v in headers.items() if k.lower() != "x-amz-crc32"}
        headers["x-amz-crc32"] = str(zlib.crc32(payload))
    return headers, payload


def _without_token(call: Call, body: bytes) -> bytes:
    """The request without its next-page token, so that the server answers the first page again."""
    document = json.loads(body or b"{}")
    document.pop(_TOKENS[call.operation][0], None)
    return json.dumps(document).encode()


def _table_of(document: dict[str, Any]) -> str | None:
    """The table a DynamoDB request names: by name, by ARN, as the source of a restore, as the
    table an import creates, or in a batch read."""
    arn = document.get("ResourceArn") or document.get("TableArn") or ""
    created = document.get("TableCreationParameters") or {}
    batch = list(document.get("RequestItems") or {})
    return (
        document.get("TableName")
        or document.get("SourceTableName")
        or arn.rpartition("/")[2]
        or created.get("TableName")
        or (batch[0] if batch else None)
    )


def _s3_operation(method: str, path: str) -> str:
    """The S3 REST operation of a path-style request (what botocore sends to an IP endpoint)."""
    url = urllib.parse.urlsplit(path)
    on_object = "/" in url.path.strip("/")
    query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if method == "GET" and not on_object:
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    names = {
        "HEAD": ("HeadBucket", "HeadObject"),
        "GET": ("", "GetObject"),
        "PUT": ("CreateBucket", "PutObject"),
        "DELETE": ("DeleteBucket", "DeleteObject"),
    }
    return names.get(method, ("", ""))[on_object]


def _describe_call(headers: Any, body: bytes, method: str = "POST", path: str = "/") -> Call:
    scope = _SCOPE.search(headers.get("Authorization", ""))
    region, service = scope.groups() if scope else ("", "")
    target = headers.get("X-Amz-Target")
    table = None
    if target:
        operation = target.rsplit(".", 1)[-1]
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            document = {}
        table = _table_of(document) if isinstance(document, dict) else None
    elif service == "s3":
        operation = _s3_operation(method, path)
    else:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        operation = form.get("Action", [""])[0]
    return Call(service, operation, region, table)


_JSON_ERRORS = {
    "throttle": (400, "com.amazonaws.dynamodb.v20120810#ThrottlingException", "Rate exceeded"),
    "access_denied": (
        400,
        "com.amazon.coral.service#AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/audit/tablesafe is not authorized to perform: {action}",
    ),
    "not_found": (
        400,
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        "Requested resource not found: Table: {table} not found",
    ),
}
_XML_ERRORS = {
    "throttle": (400, "Throttling", "Rate exceeded"),
    "access_denied": (403, "AccessDenied", "User is not authorized to perform: {action}"),
    "not_found": (400, "ValidationError", "{table} does not exist"),
}


def _error_answer(error: str, call: Call, *, json_protocol: bool) -> tuple[int, dict[str, str], bytes]:
    values = {"action": f"{call.service}:{call.operation}", "table": call.table}
    if json_protocol:
        status, kind, message = _JSON_ERRORS[error]
        payload = {"__type": kind, "message": message.format(**values)}
        return status, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(payload).encode()
    status, code, message = _XML_ERRORS[error]
    xml = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{message.format(**values)}</Message></Error><RequestId>tablesafe-proxy</RequestId>"
        "</ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml"}, xml.encode()
