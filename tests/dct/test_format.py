"""docker's text machinery: natural sort, Go's json.Indent, the tabwriter tables, TruncateID."""

from __future__ import annotations

import json

import pytest

from trustkit.dct._format import go_indent, natural_less, natural_sort_key, tab_table, truncate_id


def test_natural_order_is_sortorders() -> None:
    tags = ["v10", "v2", "latest", "1.10", "1.9", "02", "2", "v1.0-rc1", "v1.0", "a", "A", "10", "b2", "b02", ""]
    assert sorted(tags, key=natural_sort_key) == [
        "",
        "1.9",
        "1.10",
        "2",
        "02",
        "10",
        "A",
        "a",
        "b2",
        "b02",
        "latest",
        "v1.0",
        "v1.0-rc1",
        "v2",
        "v10",
    ]
    assert natural_less("abc2", "abc12") and not natural_less("abc12", "abc2")
    assert natural_less("x", "xy") and not natural_less("xy", "x") and not natural_less("x", "x")
    assert natural_less("1", "a")  # digits sort before other bytes
    assert natural_less("é", "ê")  # bytewise on UTF-8


@pytest.mark.parametrize(
    "value",
    [
        [],
        [{}],
        [{"Name": "x", "SignedTags": [], "Signers": [{"Name": "a", "Keys": [{"ID": "1"}]}]}],
        [{"a": [1, [2, []], {"b": 'c,d:[e]{f}\\"g'}]}],
    ],
)
def test_go_indent_matches_an_indented_dump(value: object) -> None:
    compact = json.dumps(value, separators=(",", ":"))
    assert go_indent(compact) == json.dumps(value, indent=4)


def test_tables_pad_columns_as_docker() -> None:
    table = tab_table([["SIGNER", "KEYS"], ["alice", "A"], ["bob", "B"]])
    assert table == "SIGNER    KEYS\nalice     A\nbob       B\n"
    rows = [
        ["SIGNED TAG", "DIGEST", "SIGNERS"],
        ["blue", "626c75652d646967657374", "alice"],
        ["green", "677265656e2d646967657374", "(Repo Admin)"],
        ["red", "7265642d646967657374", "alice, bob"],
    ]
    assert tab_table(rows) == (  # docker's own golden file for this table (trust-inspect-pretty-full-repo-with-signers)
        "SIGNED TAG   DIGEST                     SIGNERS\n"
        "blue         626c75652d646967657374     alice\n"
        "green        677265656e2d646967657374   (Repo Admin)\n"
        "red          7265642d646967657374       alice, bob\n"
    )
    # an empty last cell still pads the cells before it, and wide characters count twice
    assert tab_table([["SIGNER", "KEYS"], ["nokeys", ""]]) == "SIGNER    KEYS\nnokeys    \n"
    assert tab_table([["名前", "x"], ["a", "y"]]) == "名前      x\na         y\n"


def test_truncate_id() -> None:
    assert truncate_id("sha256:" + "0123456789abcdef" * 4) == "0123456789ab"
    assert truncate_id("0123456789abcdef") == "0123456789ab"
    assert truncate_id("short") == "short"
