"""One neutralizer per kind of output, for every value tablesafe did not write itself.

Anything read from a template, an assembly, a source file, a config, a lockfile or an AWS
API is untrusted: a stack name can carry a terminal escape, a tag value Markdown or HTML,
a KMS key id a shell command. Such a value never reaches an output raw; it goes through the
neutralizer of the output it lands in:

- ``text``: terminals, logs and stderr;
- ``markdown_text`` and ``markdown_code``: Markdown prose and inline code (``markdown_cell``
  and ``markdown_fence`` for table cells and code blocks);
- ``shell``: one word of a bash command;
- ``markup``: XML and HTML text and attribute values, before the serializer escapes them.

JSON needs none (``json.dumps`` escapes every control character); markup is escaped by the
serializer that writes it (ElementTree for JUnit, Jinja2's autoescaping for the HTML report).
Only the standard library is used here, so ``check`` and ``lint`` stay lean.
"""

from __future__ import annotations

import re
import shlex

_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 (TAB, LF, CR, ESC ...), DEL and C1 (NEL, CSI ...)
    "\u2028\u2029"  # line and paragraph separators: new lines to editors and splitlines()
    "\u202a-\u202e\u2066-\u2069"  # bidirectional overrides: reorder what a reader sees
    "\ud800-\udfff]"  # lone surrogates: cannot be written as UTF-8 at all
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_WORKFLOW_COMMAND = re.compile(r"(?:^|(?<=\s))::")
"""'::' where a line could start with it: GitHub Actions runs a line that starts with '::'
(after spaces) as a workflow command, and a report starts lines with values (a stack heading)
or wraps them at spaces."""
_MARKDOWN_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
"""Every ASCII punctuation character: CommonMark lets each be backslash-escaped, and an
escaped one is never markup (HTML, links, emphasis, code spans, table cells, list markers)."""
_BACKTICKS = re.compile("`+")
_MARKUP_FORBIDDEN = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What XML 1.0 cannot hold even as a character reference (most C0 controls, lone surrogates,
U+FFFE/U+FFFF), and the DEL and C1 controls that XML discourages and HTML calls parse errors."""


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def text(value: object) -> str:
    """The value for a terminal, a log or stderr: control characters shown escaped (``\\x1b``,
    ``\\n``), so it cannot style the terminal, move the cursor or start a line of its own (a
    GitHub Actions ``::error::`` workflow command); a '::' that could start a line once the
    value is wrapped or printed first is shown as ``\\x3a:``."""
    if type(value) is str and value.isprintable() and "::" not in value:
        return value  # nothing to escape (every _CONTROL character is unprintable): 10x faster
    return _WORKFLOW_COMMAND.sub(r"\\x3a:", _controls_escaped(value))


def _controls_escaped(value: object) -> str:
    return _CONTROL.sub(_escaped, str(value))


def markdown_text(value: object) -> str:
    """The value as Markdown prose: control characters escaped, then every ASCII punctuation
    character backslash-escaped, so it renders as the text it is and never as markup."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\g<0>", _controls_escaped(value))


def markdown_code(value: object) -> str:
    """The value as an inline code span that it cannot close: the fence is one backtick
    longer than any run of backticks inside, padded with a space where the value starts or
    ends with a backtick or a space (CommonMark strips one space from each side)."""
    shown = _controls_escaped(value)
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(shown)), default=0))
    pad = " " if not shown or shown[0] in "` " or shown[-1] in "` " else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def markdown_cell(markdown: str) -> str:
    """Markdown (neutralized values and tablesafe's own text) made fit for a table cell: every
    pipe escaped, inside code spans too; GFM removes the backslash of an escaped pipe before it
    parses the cell, so what the cell shows is unchanged."""
    return markdown.replace("|", "\\|")


def markdown_fence(body: str) -> str:
    """A code-block fence longer than any run of backticks in body, so body cannot close it."""
    return "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(body)), default=0))


def shell(value: object) -> str:
    """The value as exactly one bash word: ``shlex.quote``, or ANSI-C quoting (``$'...'``)
    when it holds control characters, so that the command stays on one line."""
    word = str(value)
    if not _CONTROL.search(word):
        return shlex.quote(word)
    return "$'" + "".join(_ansi_c(char) for char in word) + "'"


def _ansi_c(char: str) -> str:
    """One character inside ``$'...'``: control characters as the \\xHH bytes of their UTF-8."""
    if char in "\\'":
        return "\\" + char
    if _CONTROL.fullmatch(char):
        return "".join(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))
    return char


def markup(value: object) -> str:
    """The value for XML or HTML text or an attribute: the characters they cannot hold shown
    escaped as in ``text`` (never a parser error or an encoding error), newlines and tabs kept,
    so a '::' that could start a line is escaped as in ``text``; ``<``, ``&`` and quotes are left
    to the serializer, which escapes them."""
    return _WORKFLOW_COMMAND.sub(r"\\x3a:", _MARKUP_FORBIDDEN.sub(_escaped, str(value)))
