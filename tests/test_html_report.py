"""The audit's HTML report as a reader meets it: each finding with its fix (the one command
first), each runbook as an HTML page beside its Markdown, a just-enabled PITR window, TS004
on unmanaged tables, and a layout that hides no column at 1400 or 800 px in a real browser.

The run is a real audit of a moto server: an unmanaged table without PITR or deletion
protection (tagged with markup, which must stay text), a table whose PITR was just enabled,
one with a 255-character name, and a table of a stack whose DeletionPolicy is Delete (its
logical ID as CDK writes it, which a narrow column must not break mid-word).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import audit_helpers as helpers
import drill_helpers
import pytest
from conftest import reset_moto

from tablesafe.config import Config
from tablesafe.scanner.audit import AuditOptions, run_audit
from tablesafe.scanner.drill_results import write_result
from tablesafe.scanner.history import write_audit
from tablesafe.scanner.html_report import NO_STACK, render_runbook_page
from tablesafe.scanner.records import TableRecord

MARKUP_TAG = "<img src=x onerror=alert(1)>"
LONG_NAME = "orders-" + "x" * 248
CHROMIUM = shutil.which("chromium-headless-shell")
CHROMIUM_TIMEOUT = 20
WIDTHS = (1400, 800)
CARTS_ID = "CartsTable4A6E1B2C"
"""A logical ID as CDK writes it: the construct path's words, then a hash."""
CARTS_BREAKS = {0, len("Carts"), len("CartsTable")}
"""Where a line of CARTS_ID may start: at a word or at the hash, never mid-word."""


@pytest.fixture(scope="module")
def run(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One audit run directory of the four tables above, with drill results: the long-named
    table proven three days ago, carts never proven (its last drill failed)."""
    reset_moto(moto_server)
    helpers.create_table(moto_server, "loose", pitr_days=None, protected=False)
    dynamodb = helpers.client(moto_server, "dynamodb")
    arn = dynamodb.describe_table(TableName="loose")["Table"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": MARKUP_TAG}])
    helpers.create_table(moto_server, "fresh")
    helpers.create_table(moto_server, LONG_NAME)
    helpers.create_stack(moto_server, "ShopStack", {CARTS_ID: "carts"}, policy="Delete")
    drills = tmp_path_factory.mktemp("drills")
    started = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    write_result(drills, drill_helpers.result(LONG_NAME, started))
    write_result(drills, drill_helpers.result("carts", started, "not-recreatable", recovery_seconds=None))
    result = run_audit(
        AuditOptions(regions=helpers.HOME, endpoint_url=moto_server, concurrency=2),
        Config(),
        progress=False,
        drills=drills,
    )
    output = tmp_path_factory.mktemp("audit") / "run"
    write_audit(output, result, previous=None)
    return output


def _report(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def grid_rows(page: str) -> dict[str, str]:
    """Table name -> its row of the tables x rules grid."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return {re.search(r'<a href="[^"]+">([^<]+)</a>', row).group(1): row for row in body.split("<tr>")[1:]}


def fix_sections(page: str) -> dict[str, str]:
    """Table name -> its part of "Findings and fixes" (up to the next table or section)."""
    sections = page.split("<h3 ")[1:]
    return {
        re.match(r'id="[^"]+">([^<]+) ', section).group(1): section.split("<h2>")[0] for section in sections
    }


def cells(row: str) -> list[str]:
    """The rule cells' texts, in column order."""
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r'<td class="c \w+"[^>]*>(.*?)</td>', row)]


def test_each_finding_shows_its_fix_with_the_command_first(run: Path) -> None:
    sections = fix_sections(_report(run))
    assert set(sections) == {"loose", "carts"}  # only tables with findings
    loose = html.unescape(sections["loose"])
    enable_pitr = "aws dynamodb update-continuous-backups --table-name loose --region us-east-1"
    protect = "aws dynamodb update-table --table-name loose --region us-east-1 --deletion-protection-enabled"
    assert "Fix: Enable point-in-time recovery on loose" in re.sub(r"<[^>]+>", "", loose)
    assert f"<pre><code>{enable_pitr} " in loose and f"<pre><code>{protect}</code></pre>" in loose
    assert "CDK" not in loose  # no stack owns it: the command is the whole fix
    carts = html.unescape(sections["carts"])
    assert "TS004 error" in carts and "carts" in carts and "loose" not in carts
    # no command changes a stack's removal policy: the summary says where the template has it
    assert "<pre><code>" not in carts.split("<details")[0]  # no CLI block: nothing to run
    assert "In the template of stack ShopStack, set both on resource CartsTable" in carts
    python = carts.index("<summary>CDK Python</summary><pre><code>")
    typescript = carts.index("<summary>CDK TypeScript</summary>")
    assert python < typescript
    assert "removal_policy=RemovalPolicy.RETAIN" in carts and "removalPolicy: RemovalPolicy.RETAIN" in carts


def test_grid_cells_say_what_applies(run: Path) -> None:
    rows = grid_rows(_report(run))
    assert set(rows) == {"loose", "fresh", "carts", LONG_NAME}
    # TS001, TS003, TS004, TS007: an unmanaged table has no DeletionPolicy to judge
    assert cells(rows["loose"]) == ["fail", "fail", NO_STACK, "pass"]
    assert cells(rows["fresh"]) == ["pass", "pass", NO_STACK, "pass"]
    assert cells(rows["carts"]) == ["pass", "pass", "fail", "pass"]
    assert '<a href="#table-' in rows["loose"] and "#table-" not in rows["fresh"]
    assert ">DISABLED<" in rows["loose"]
    for name in ("fresh", "carts"):  # moto enables PITR at once: the window is empty
        assert '35 days<br><small class="muted">enabled just now</small>' in rows[name]
        assert 'class="bar"' not in rows[name] and " to " not in rows[name]


def test_the_last_drill_column_tells_the_day_verdict_and_recovery_time(run: Path) -> None:
    rows = grid_rows(_report(run))
    drill_cell = re.compile(r'<td class="(pass|fail|warn)" title="([^"]*)">([^<]*)</td>')
    drills = {name: drill_cell.search(row).groups() for name, row in rows.items()}
    state, title, label = drills[LONG_NAME]
    assert state == "pass" and re.fullmatch(r"\d{4}-\d\d-\d\d · proven · 14 min", label)
    assert title.endswith(", 14 min, 120,000 items, 1,000 sampled equal")
    assert re.fullmatch(
        r"fail \| \d{4}-\d\d-\d\d · not-recreatable · unknown \(never proven\)",
        " | ".join((drills["carts"][0], drills["carts"][2])),
    )
    assert drills["fresh"] == ("warn", "never drilled", "never drilled")


def test_runbook_pages_beside_the_markdown_are_linked_both_ways(run: Path) -> None:
    rows = grid_rows(_report(run))
    summary = {entry["name"]: entry for entry in json.loads((run / "summary.json").read_text())["tables"]}
    for name, row in rows.items():
        href = unquote(re.search(r'<a href="([^"]+)">', row).group(1))
        assert (
            href == summary[name]["runbook_page"] == str(Path(summary[name]["runbook"]).with_suffix(".html"))
        )
        page = (run / href).read_text(encoding="utf-8")
        assert f"<h1>Recreate DynamoDB table <code>{name}</code></h1>" in page
        assert '<pre><code class="language-bash">aws dynamodb' in page  # Markdown rendered
        links = re.findall(r'<a href="([^"]+)"', page)
        assert [((run / href).parent / unquote(link)).resolve() for link in links] == [
            (run / "report.html").resolve(),
            (run / summary[name]["runbook"]).resolve(),
        ]
    sections = fix_sections(_report(run))
    assert f'<a href="{summary["loose"]["runbook"]}">Markdown</a>' in sections["loose"]


def test_values_from_aws_stay_text_in_every_page(run: Path) -> None:
    escaped = html.escape(MARKUP_TAG)
    pages = [run / "report.html", *(run / "tables").rglob("*.html")]
    assert len(pages) == 5
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<img" not in text and "<script" not in text
    assert f"owner={escaped}" in _report(run)
    loose = next(page for page in pages if page.name == "loose.html").read_text(encoding="utf-8")
    assert escaped in loose


def test_runbook_pages_render_no_raw_html_image_or_foreign_link() -> None:
    """The page's own neutralizer, whatever Markdown it is given: raw HTML is text, images are
    not loaded, and only https links are links."""
    markdown = (
        "# Recreate\n\n<script>alert(1)</script>\n\n<b>bold</b> [click](javascript:alert(1)) "
        "[plain](http://example.com/x) ![pixel](https://example.com/p.png) <https://docs.aws.amazon.com/>\n"
    )
    page = render_runbook_page(
        markdown, TableRecord(account="123456789012", region="us-east-1", name="orders")
    )
    assert "<script" not in page and "<b>bold" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    links = re.findall(r'<a href="([^"]+)"', page)
    # the image is a link to it, not a request for it
    assert links == [
        "../../../report.html",
        "orders.md",
        "https://example.com/p.png",
        "https://docs.aws.amazon.com/",
    ]


# --- in a real browser ----------------------------------------------------------------------

MEASURE = """<script>
addEventListener("load", () => {
  const box = (element) => {
    const rect = element.getBoundingClientRect();
    const {left, right, width, height} = rect;
    return {text: element.textContent, left, right, width, height};
  };
  // the offsets in element's text where a laid-out line starts (0 for the first line)
  const lineStarts = (element) => {
    const starts = [];
    let offset = 0, top = null;
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (rect && (top === null || rect.top > top + 2)) starts.push(offset + i);
        if (rect) top = rect.top;
      }
      offset += node.length;
    }
    return {text: element.textContent, starts};
  };
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({
    viewport: document.documentElement.clientWidth,
    page: document.documentElement.scrollWidth,
    headers: [...document.querySelectorAll("table.grid thead th")].map(box),
    cells: [...document.querySelectorAll("table.grid tbody td")].map(box),
    ids: [...document.querySelectorAll("table.grid tbody td:nth-child(2) small")].map(lineStarts),
    slugs: [...document.querySelectorAll(".slug")].map(lineStarts),
    tableHeads: [...document.querySelectorAll("table")].map(
      (table) => [...table.rows[0].cells].map((cell) => cell.textContent.trim())),
  });
  document.body.appendChild(out);
});
</script>"""
"""Test-only: measures the page as laid out (the grid's boxes, where the logical IDs and
rule slugs break, each table's header row) and writes the result into the DOM."""


def _measure(page: Path, width: int, tmp_path: Path) -> dict[str, Any]:
    """What MEASURE finds when Chromium lays the page out in a window `width` pixels wide."""
    copy = tmp_path / f"{page.stem}-{width}.html"
    copy.write_text(
        page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8"
    )
    dom = subprocess.run(
        [
            CHROMIUM or "chromium-headless-shell",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / f'profile-{width}'}",
            f"--window-size={width},1000",
            "--virtual-time-budget=2000",
            "--dump-dom",
            copy.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT,
        check=True,
    ).stdout
    return json.loads(html.unescape(re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S).group(1)))


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium-headless-shell is not installed (.ci/run installs it with apt-get)",
)
@pytest.mark.parametrize("width", WIDTHS)
def test_no_column_is_hidden_in_chromium(run: Path, width: int, tmp_path: Path) -> None:
    measured = _measure(run / "report.html", width, tmp_path)
    viewport, headers = measured["viewport"], measured["headers"]
    assert viewport <= width and viewport > width - 40  # a vertical scrollbar at most
    assert [h["text"] for h in headers][:4] == ["Table", "Stack", "PITR window (UTC)", "Last drill"]
    assert [h["text"][:5] for h in headers][4:] == ["TS001", "TS003", "TS004", "TS007"]
    for box in headers + measured["cells"]:
        assert box["width"] > 0 and box["height"] > 0, box
        assert box["left"] >= 0 and box["right"] <= viewport, (box, viewport)
    assert measured["page"] <= viewport  # nothing to scroll sideways: no column off-screen


@pytest.mark.skipif(CHROMIUM is None, reason="chromium-headless-shell is not installed")
@pytest.mark.parametrize("width", WIDTHS)
def test_no_logical_id_or_rule_slug_breaks_mid_word_in_chromium(
    run: Path, width: int, tmp_path: Path
) -> None:
    """The grid's logical IDs break only between words or before CDK's hash, and each rule's
    slug stays on one line (they sit in the legend above the grid, not in a narrow header)."""
    measured = _measure(run / "report.html", width, tmp_path)
    assert [box["text"] for box in measured["ids"]] == [CARTS_ID]
    for box in measured["ids"]:
        assert set(box["starts"]) <= CARTS_BREAKS, box
    if width == 800:  # the column is narrower than the ID: it does break, where it may
        assert len(measured["ids"][0]["starts"]) > 1
    slugs = measured["slugs"]
    assert [box["text"].split()[0] for box in slugs] == ["TS001", "TS003", "TS004", "TS007"]
    assert all(box["starts"] == [0] for box in slugs), slugs


@pytest.mark.skipif(CHROMIUM is None, reason="chromium-headless-shell is not installed")
def test_runbook_page_tables_have_header_rows_in_chromium(run: Path, tmp_path: Path) -> None:
    page = next(path for path in (run / "tables").rglob("*.html") if path.name == "carts.html")
    heads = _measure(page, 800, tmp_path)["tableHeads"]
    assert heads and heads[0] == ["Property", "Value"]
    assert all(all(head) for head in heads), heads
