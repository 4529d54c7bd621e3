"""Property-based: random and mutated templates never make an exception escape the loader
or the rules, and every verdict is either a finding or a clean pass."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tablesafe.config import Config
from tablesafe.engine import evaluate
from tablesafe.loader import TemplateSource, describe_template, parse_document
from tablesafe.model import LoadResult
from tablesafe.reports import finding_dict
from tablesafe.rules import ALL_RULES

FIXTURES = Path(__file__).parent.parent / "fixtures"
SEED_TEMPLATES = sorted(
    p
    for p in [*FIXTURES.glob("rules/*/*.*"), *FIXTURES.glob("sample-cdk.out/*.template.json")]
    if p.suffix in (".json", ".yaml", ".template") and "manifest" not in p.name and "metadata" not in p.name
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

KEYS = st.sampled_from(
    [
        "Type",
        "Properties",
        "Replicas",
        "Region",
        "PointInTimeRecoverySpecification",
        "PointInTimeRecoveryEnabled",
        "RecoveryPeriodInDays",
        "DeletionProtectionEnabled",
        "DeletionPolicy",
        "UpdateReplacePolicy",
        "Metadata",
        "tablesafe",
        "suppress",
        "id",
        "reason",
        "expires",
        "Ref",
        "Fn::If",
        "Fn::Equals",
        "Fn::Not",
        "Fn::And",
        "Fn::Or",
        "Condition",
        "Fn::GetAtt",
        "Fn::Sub",
        "aws:cdk:path",
        "TableName",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "true",
            "false",
            "TS001",
            "TS003",
            "Retain",
            "Delete",
            "AWS::NoValue",
            "AWS::DynamoDB::Table",
            "AWS::DynamoDB::GlobalTable",
            "IsProd",
            "2027-01-31",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=6)), children, max_size=4),
    ),
    max_leaves=30,
)
TABLE_TYPE = st.sampled_from(["AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"])
RESOURCE = st.one_of(
    VALUES,
    st.fixed_dictionaries(
        {"Type": TABLE_TYPE},
        optional={
            "Properties": VALUES,
            "Metadata": VALUES,
            "DeletionPolicy": VALUES,
            "UpdateReplacePolicy": VALUES,
        },
    ),
)
TEMPLATES = st.one_of(
    VALUES,
    st.fixed_dictionaries(
        {
            "Resources": st.one_of(
                VALUES, st.dictionaries(st.text(min_size=1, max_size=8), RESOURCE, max_size=5)
            )
        },
        optional={"Parameters": VALUES, "Conditions": VALUES},
    ),
)


def _check_everything(path: Path) -> None:
    result = LoadResult()
    describe_template(TemplateSource(path, path.name), result)
    findings = evaluate(result.tables, Config())
    for finding in findings:
        json.dumps(finding_dict(finding))
        assert finding.message
    assert all(isinstance(error.problem, str) and error.problem for error in result.errors)


@SETTINGS
@given(template=TEMPLATES, as_yaml=st.booleans())
def test_random_templates_never_raise(tmp_path: Path, template: Any, as_yaml: bool) -> None:
    path = tmp_path / ("t.yaml" if as_yaml else "t.json")
    text = yaml.safe_dump(template) if as_yaml else json.dumps(template)
    path.write_text(text)
    _check_everything(path)


def _mutate(node: Any, data: st.DataObject) -> Any:
    """Replace one randomly chosen node of the document with a random value."""
    if isinstance(node, dict) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node, key=str)))
        node[key] = _mutate(node[key], data)
        return node
    if isinstance(node, list) and node and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(node) - 1))
        node[index] = _mutate(node[index], data)
        return node
    return data.draw(VALUES)


@SETTINGS
@given(seed=st.sampled_from(SEED_TEMPLATES), data=st.data())
def test_mutated_real_templates_never_raise(tmp_path: Path, seed: Path, data: st.DataObject) -> None:
    document = copy.deepcopy(parse_document(seed.read_text(), seed))
    for _ in range(data.draw(st.integers(1, 4))):
        document = _mutate(document, data)
    path = tmp_path / "mutated.json"
    path.write_text(json.dumps(document, default=str))
    _check_everything(path)


@SETTINGS
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_text_never_raises(tmp_path: Path, text: str) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    _check_everything(path)


def test_every_rule_is_exercised_by_the_seeds() -> None:
    assert len(SEED_TEMPLATES) >= 8
    # TS008 judges deployed tables only: no template can exercise it
    assert {rule.id for rule in ALL_RULES} <= {p.parent.name for p in SEED_TEMPLATES} | {"TS002", "TS008"}
