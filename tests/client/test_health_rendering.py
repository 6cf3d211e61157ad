"""The exact text and HTML of the health report and the repository summary, pinned byte for byte: one table model
renders both, and a change to either rendering must be deliberate."""

# ruff: noqa: E501 -- the expected tables are as wide as they render

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from trustkit.client.health import (
    BelowThreshold,
    ExpiringCertificate,
    ExpiringRole,
    HealthReport,
    MissingKey,
    RepositorySummary,
    RoleKey,
    RoleSummary,
    SignedTag,
)

_CELL = "text-align:left;vertical-align:top;padding:2px 10px 2px 0;border-bottom:1px solid rgba(128,128,128,0.3)"


def _styled(page: str) -> str:
    """The expected pages below are written without their inline styles; these put them back."""
    return (
        page.replace("<td>", f"<td style='{_CELL}'>")
        .replace("<th>", f"<th style='{_CELL}'>")
        .replace(
            "<table><caption>",
            "<table style='border-collapse:collapse;margin-bottom:1em'><caption style='text-align:left'>",
        )
    )


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def report() -> HealthReport:
    return HealthReport(
        gun="example.com/<team>/app",
        checked_at=NOW,
        window=timedelta(days=183),
        expiring_roles=(
            ExpiringRole("targets/old", 7, NOW - timedelta(days=2), timedelta(days=-2), trusted=False),
            ExpiringRole("targets", 12, NOW + timedelta(hours=5), timedelta(hours=5)),
        ),
        below_threshold=(
            BelowThreshold("targets/ci", 2, 1, None, "1 key(s) for a threshold of 2: cannot be signed"),
            BelowThreshold("targets/old", 1, 1, 0, "valid signatures 0 of 1: readers skip it"),
        ),
        missing_keys=(MissingKey("root", "a" * 64, "b" * 64, "ecdsa-x509", 1, 0),),
        keys_checked=True,
        expiring_certificates=(
            ExpiringCertificate(
                "root", "a" * 64, "b" * 64, "example.com/<team>/app", NOW + timedelta(days=800), timedelta(days=800)
            ),
        ),
    )


def empty_report() -> HealthReport:
    return HealthReport("g", NOW, timedelta(days=1), (), (), (), False, ())


def summary() -> RepositorySummary:
    keys = (
        RoleKey("c" * 64, "d" * 64, "ecdsa-x509", NOW + timedelta(days=3650)),
        RoleKey("e" * 64, "e" * 64, "ecdsa"),
    )
    return RepositorySummary(
        gun="example.com/<team>/app",
        generated_at=NOW,
        roles=(
            RoleSummary("root", 1, keys[:1], 1, NOW + timedelta(days=3650), None, 0, True, None),
            RoleSummary("targets", 1, keys[1:], 4, NOW + timedelta(days=3), None, 2, True, None),
            RoleSummary("targets/releases", 2, keys, 2, NOW - timedelta(minutes=30), ("", "v"), 1, True, "targets"),
            RoleSummary("targets/empty", 1, (), None, None, (), 0, False, "targets"),
        ),
        signed_tags=(
            SignedTag("a<b>&c", "sha256:" + "f" * 64, 528, ("targets", "targets/releases")),
            SignedTag("v1", "", 7, ("targets",)),
        ),
    )


def empty_summary() -> RepositorySummary:
    return RepositorySummary("g", NOW, (), ())


REPORT_TEXT = """\
Health of example.com/<team>/app on 2026-11-25 12:00 UTC: 5 problems

Roles expiring within 183 days
ROLE                   VERSION  EXPIRES               WHEN
targets/old (skipped)  7        2026-11-23 12:00 UTC  expired 2 days ago
targets                12       2026-11-25 17:00 UTC  in 5 hours

Roles below their threshold
ROLE         THRESHOLD  KEYS  SIGNATURES  WHY
targets/ci   2          1     ?           1 key(s) for a threshold of 2: cannot be signed
targets/old  1          1     0           valid signatures 0 of 1: readers skip it

Keys without a private key in the keystore
ROLE  KEY ID        KEY TYPE    HELD           CAN SIGN
root  bbbbbbbbbbbb  ecdsa-x509  0 of 1 needed  no

Certificates expiring within 183 days
ROLE  KEY ID        SUBJECT                 NOT AFTER             WHEN
root  bbbbbbbbbbbb  example.com/<team>/app  2029-02-02 12:00 UTC  in 2.2 years"""

REPORT_HTML = (
    "<div class='trustkit-health'><h4>Health of example.com/&lt;team&gt;/app on 2026-11-25 12:00 UTC: 5 problems</h4>\n"
    "<table><caption><strong>Roles expiring within 183 days</strong></caption><thead>"
    "<tr><th>ROLE</th><th>VERSION</th><th>EXPIRES</th><th>WHEN</th></tr></thead><tbody>"
    "<tr><td>targets/old (skipped)</td><td>7</td><td>2026-11-23 12:00 UTC</td><td>expired 2 days ago</td></tr>"
    "<tr><td>targets</td><td>12</td><td>2026-11-25 17:00 UTC</td><td>in 5 hours</td></tr>"
    "</tbody></table>\n"
    "<table><caption><strong>Roles below their threshold</strong></caption><thead>"
    "<tr><th>ROLE</th><th>THRESHOLD</th><th>KEYS</th><th>SIGNATURES</th><th>WHY</th></tr></thead><tbody>"
    "<tr><td>targets/ci</td><td>2</td><td>1</td><td>?</td><td>1 key(s) for a threshold of 2: cannot be signed</td></tr>"
    "<tr><td>targets/old</td><td>1</td><td>1</td><td>0</td><td>valid signatures 0 of 1: readers skip it</td></tr>"
    "</tbody></table>\n"
    "<table><caption><strong>Keys without a private key in the keystore</strong></caption><thead>"
    "<tr><th>ROLE</th><th>KEY ID</th><th>KEY TYPE</th><th>HELD</th><th>CAN SIGN</th></tr></thead><tbody>"
    "<tr><td>root</td><td>bbbbbbbbbbbb</td><td>ecdsa-x509</td><td>0 of 1 needed</td><td>no</td></tr>"
    "</tbody></table>\n"
    "<table><caption><strong>Certificates expiring within 183 days</strong></caption><thead>"
    "<tr><th>ROLE</th><th>KEY ID</th><th>SUBJECT</th><th>NOT AFTER</th><th>WHEN</th></tr></thead><tbody>"
    "<tr><td>root</td><td>bbbbbbbbbbbb</td><td>example.com/&lt;team&gt;/app</td><td>2029-02-02 12:00 UTC</td><td>in 2.2 years</td></tr>"
    "</tbody></table></div>"
)

EMPTY_REPORT_TEXT = """\
Health of g on 2026-11-25 12:00 UTC: ok

Roles expiring within 1 day: none

Roles below their threshold: none

Keys without a private key in the keystore: not checked (no keystore given)

Certificates expiring within 1 day: none"""

EMPTY_REPORT_HTML = (
    "<div class='trustkit-health'><h4>Health of g on 2026-11-25 12:00 UTC: ok</h4>\n"
    "<p><strong>Roles expiring within 1 day</strong>: none</p>\n"
    "<p><strong>Roles below their threshold</strong>: none</p>\n"
    "<p><strong>Keys without a private key in the keystore</strong>: not checked (no keystore given)</p>\n"
    "<p><strong>Certificates expiring within 1 day</strong>: none</p></div>"
)

SUMMARY_TEXT = """\
Trust data of example.com/<team>/app on 2026-11-25 12:00 UTC

Roles
ROLE              SIGNER  KEYS                                              THRESHOLD  VERSION  EXPIRES                                        PATHS     TARGETS
root              -       dddddddddddd (ecdsa-x509, cert until 2036-11-22)  1          1        2036-11-22 12:00 UTC (in 10.0 years)           -         -
targets           -       eeeeeeeeeeee (ecdsa)                              1          4        2026-11-28 12:00 UTC (in 3 days)               -         2
targets/releases  -       dddddddddddd (ecdsa-x509, cert until 2036-11-22)  2          2        2026-11-25 11:30 UTC (expired 30 minutes ago)  (all), v  1
                          eeeeeeeeeeee (ecdsa)
targets/empty     empty   (none)                                            1          -        not trusted                                    (none)    0

Signed tags
TAG     DIGEST                                                                   SIZE  SIGNED BY
a<b>&c  sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff  528   targets, targets/releases
v1      (no sha256)                                                              7     targets"""

SUMMARY_HTML = (
    "<div class='trustkit-summary'><h4>Trust data of example.com/&lt;team&gt;/app on 2026-11-25 12:00 UTC</h4>\n"
    "<table><caption><strong>Roles</strong></caption><thead>"
    "<tr><th>ROLE</th><th>SIGNER</th><th>KEYS</th><th>THRESHOLD</th><th>VERSION</th><th>EXPIRES</th><th>PATHS</th><th>TARGETS</th></tr></thead><tbody>"
    "<tr><td>root</td><td>-</td><td>dddddddddddd (ecdsa-x509, cert until 2036-11-22)</td><td>1</td><td>1</td><td>2036-11-22 12:00 UTC (in 10.0 years)</td><td>-</td><td>-</td></tr>"
    "<tr><td>targets</td><td>-</td><td>eeeeeeeeeeee (ecdsa)</td><td>1</td><td>4</td><td>2026-11-28 12:00 UTC (in 3 days)</td><td>-</td><td>2</td></tr>"
    "<tr><td>targets/releases</td><td>-</td><td>dddddddddddd (ecdsa-x509, cert until 2036-11-22)<br>eeeeeeeeeeee (ecdsa)</td><td>2</td><td>2</td><td>2026-11-25 11:30 UTC (expired 30 minutes ago)</td><td>(all), v</td><td>1</td></tr>"
    "<tr><td>targets/empty</td><td>empty</td><td>(none)</td><td>1</td><td>-</td><td>not trusted</td><td>(none)</td><td>0</td></tr>"
    "</tbody></table>\n"
    "<table><caption><strong>Signed tags</strong></caption><thead>"
    "<tr><th>TAG</th><th>DIGEST</th><th>SIZE</th><th>SIGNED BY</th></tr></thead><tbody>"
    "<tr><td>a&lt;b&gt;&amp;c</td><td>sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff</td><td>528</td><td>targets, targets/releases</td></tr>"
    "<tr><td>v1</td><td>(no sha256)</td><td>7</td><td>targets</td></tr>"
    "</tbody></table></div>"
)

EMPTY_SUMMARY_TEXT = """\
Trust data of g on 2026-11-25 12:00 UTC

Roles: none

Signed tags: none"""

EMPTY_SUMMARY_HTML = (
    "<div class='trustkit-summary'><h4>Trust data of g on 2026-11-25 12:00 UTC</h4>\n"
    "<p><strong>Roles</strong>: none</p>\n"
    "<p><strong>Signed tags</strong>: none</p></div>"
)


@pytest.mark.parametrize(
    ("made", "text", "page"),
    [
        (report, REPORT_TEXT, REPORT_HTML),
        (empty_report, EMPTY_REPORT_TEXT, EMPTY_REPORT_HTML),
        (summary, SUMMARY_TEXT, SUMMARY_HTML),
        (empty_summary, EMPTY_SUMMARY_TEXT, EMPTY_SUMMARY_HTML),
    ],
    ids=["report", "empty report", "summary", "empty summary"],
)
def test_text_and_html_byte_for_byte(
    made: Callable[[], HealthReport | RepositorySummary], text: str, page: str
) -> None:
    rendered = made()
    assert str(rendered) == text
    assert rendered._repr_html_() == _styled(page)


def test_big_tables_show_a_capped_number_of_rows_in_html_and_say_how_many_more() -> None:
    """A 20,000-tag summary rendered 11.7 MB of HTML into one notebook cell: HTML shows MAX_HTML_ROWS rows and
    counts the rest; the text and the data stay complete."""
    from trustkit._tables import MAX_HTML_ROWS

    tags = tuple(SignedTag(f"t{i:05}", "sha256:" + "f" * 64, i, ("targets",)) for i in range(20_000))
    big = RepositorySummary("g", NOW, summary().roles, tags)
    page = big._repr_html_()
    assert page.count("<tr>") == 1 + len(big.roles) + 1 + MAX_HTML_ROWS + 1  # headers, roles, shown tags, "more"
    assert f"… and {20_000 - MAX_HTML_ROWS:,} more" in page
    assert "t00199" in page and "t00200" not in page
    assert len(page) < 200_000
    assert str(big).count("\n") > 20_000 and len(big.signed_tags) == 20_000


def test_reports_and_summaries_as_json() -> None:
    import json

    data = json.loads(json.dumps(report().to_dict()))
    assert data["gun"] == "example.com/<team>/app" and data["checked_at"] == "2026-11-25T12:00:00Z"
    assert data["window"] == 183 * 86400 and data["ok"] is False and len(data["problems"]) == 5
    assert data["expiring_roles"][0] == {
        "role": "targets/old",
        "version": 7,
        "expires": "2026-11-23T12:00:00Z",
        "remaining": -2 * 86400,
        "trusted": False,
    }
    assert data["missing_keys"][0]["canonical_id"] == "b" * 64
    plain = json.loads(json.dumps(summary().to_dict()))
    assert [(r["name"], r["signer"]) for r in plain["roles"]] == [
        ("root", None),
        ("targets", None),
        ("targets/releases", None),
        ("targets/empty", "empty"),
    ]
    assert plain["roles"][0]["keys"][0]["certificate_expires"] == "2036-11-22T12:00:00Z"
    assert plain["signed_tags"][0] == {
        "name": "a<b>&c",
        "digest": "sha256:" + "f" * 64,
        "length": 528,
        "roles": ["targets", "targets/releases"],
    }
