"""The AWS CLI shorthand parser, on the seed's strings and on broken ones."""

from __future__ import annotations

import pytest

from taskgov.policy.shorthand import ShorthandSyntaxError, parse_shorthand

VALID_CASES = [
    pytest.param(
        "PriorityClasses=[{Name=inference,Weight=90},{Name=experimentation,Weight=80}],FairShare=Enabled",
        {
            "PriorityClasses": [
                {"Name": "inference", "Weight": "90"},
                {"Name": "experimentation", "Weight": "80"},
            ],
            "FairShare": "Enabled",
        },
        id="the seed's scheduler config",
    ),
    pytest.param(
        "ComputeQuotaResources=[{InstanceType=ml.g5.8xlarge,Count=2}],ResourceSharingConfig={Strategy=LendAndBorrow,BorrowLimit=50},PreemptTeamTasks=LowerPriority",
        {
            "ComputeQuotaResources": [{"InstanceType": "ml.g5.8xlarge", "Count": "2"}],
            "ResourceSharingConfig": {"Strategy": "LendAndBorrow", "BorrowLimit": "50"},
            "PreemptTeamTasks": "LowerPriority",
        },
        id="the seed's compute quota config",
    ),
    pytest.param(
        "TeamName=team-a,FairShareWeight=0",
        {"TeamName": "team-a", "FairShareWeight": "0"},
        id="the seed's target",
    ),
    pytest.param(
        "Names=a,b,c,Mode=x",
        {"Names": ["a", "b", "c"], "Mode": "x"},
        id="a bare list without brackets",
    ),
    pytest.param(
        "Name='a,b',Other=\"c]\"", {"Name": "a,b", "Other": "c]"}, id="quotes keep separators"
    ),
    pytest.param(
        " A = 1 , B = [ ] ", {"A": "1", "B": []}, id="spaces around tokens and an empty list"
    ),
    pytest.param("A={}", {"A": {}}, id="an empty structure"),
]


@pytest.mark.parametrize(("text", "want"), VALID_CASES)
def test_shorthand_parses(text: str, want: dict) -> None:
    assert parse_shorthand(text) == want


INVALID_CASES = [
    pytest.param("", "empty shorthand at column 1", id="empty"),
    pytest.param("A", "expected '=', found end of text at column 2", id="key without value"),
    pytest.param("A=[1,2", "expected ']', found end of text at column 7", id="unclosed list"),
    pytest.param(
        "A={B=1", "expected ',' or '}', found end of text at column 7", id="unclosed structure"
    ),
    pytest.param("A=1,A=2", "key 'A' given twice at column 5", id="repeated key"),
    pytest.param("A='x", "unterminated ' quote at column 3", id="unterminated quote"),
    pytest.param("=1", "expected a key, found '=' at column 1", id="missing key"),
    pytest.param(
        "A=[1]]", "expected ',' or end of text, found ']' at column 6", id="stray bracket"
    ),
]


@pytest.mark.parametrize(("text", "want_message"), INVALID_CASES)
def test_shorthand_rejects_with_column(text: str, want_message: str) -> None:
    with pytest.raises(ShorthandSyntaxError) as raised:
        parse_shorthand(text)
    assert str(raised.value) == want_message
