"""The figures the robustness suite reports: collected by the tests, printed at the end of the run by
``conftest.py`` (and written as JSON to ``$TRUSTKIT_ROBUSTNESS_REPORT`` when that is set)."""

from __future__ import annotations

from typing import Any

__all__ = ["FIGURES", "record", "summary_lines"]

FIGURES: dict[str, dict[str, dict[str, Any]]] = {}
"""section ("fuzz", "crash-safety", "properties") -> item -> figures."""


def record(section: str, item: str, **values: Any) -> None:
    """Record (or update) the figures of one item."""
    FIGURES.setdefault(section, {}).setdefault(item, {}).update(values)


def summary_lines() -> list[str]:
    """One line per item and a total per section."""
    lines: list[str] = []
    fuzz = FIGURES.get("fuzz", {})
    if fuzz:
        engines = sorted({str(f.get("engine")) for f in fuzz.values()})
        for name, f in sorted(fuzz.items()):
            lines.append(
                f"fuzz {name}: {f.get('executions', 0)} executions in {f.get('seconds', 0):.1f} s, "
                f"{f.get('new_units', 0)} new inputs, escaped: {f.get('escaped', 0)}"
            )
        lines.append(
            f"fuzz total: {sum(f.get('executions', 0) for f in fuzz.values())} executions in "
            f"{sum(f.get('seconds', 0.0) for f in fuzz.values()):.1f} s over {len(fuzz)} targets "
            f"({', '.join(engines)}), {sum(f.get('escaped', 0) for f in fuzz.values())} escaped exceptions"
        )
        wall = FIGURES.get("fuzz-campaign", {}).get("wall")
        if wall:
            lines[-1] += f"; {wall['seconds']:.1f} s of wall time on {wall['workers']} workers"
    properties = FIGURES.get("properties", {})
    if properties:
        lines.append(
            f"properties: {len(properties)} property tests, "
            f"{sum(p.get('examples', 0) for p in properties.values())} examples"
        )
    crash = FIGURES.get("crash-safety", {})
    for name, c in sorted(crash.items()):
        lines.append(
            f"crash-safety {name}: {c.get('kills', 0)} kill points ({c.get('kills_mid_write', 0)} inside a write), "
            f"{c.get('files_checked', 0)} files checked, "
            f"{c.get('writes_completed', 0)} writes completed, {c.get('leftovers', 0)} temporary leftovers seen, "
            f"{c.get('corrupt', 0)} corrupt, {c.get('lost', 0)} lost, {c.get('duplicated', 0)} duplicated"
        )
    for name, c in sorted(crash.items()):
        if "publishes_completed" in c:
            lines.append(
                f"crash-safety {name}: {c['adds_completed']} changes staged and {c['publishes_completed']} publishes "
                f"completed (median {c['median_publish_seconds']:.3f} s), {c['kills_mid_publish']} kills inside a "
                f"publish ({c['published_still_staged']} after the server took it, before its changes were "
                f"unstaged), {c['kills_mid_add']} inside an add; {c['reader_checks']} verifying reads of the server, "
                f"{c['notary_list_checks']} `notary list` of the end state; {c['leftovers_notary_reads']} leftover "
                "temporary files in the changelist folder (notary reads them as changes)"
            )
    if crash:
        lines.append(
            f"crash-safety total: {sum(c.get('kills', 0) for c in crash.values())} kill points, "
            f"{sum(c.get('files_checked', 0) for c in crash.values())} files checked, "
            f"{sum(c.get('corrupt', 0) for c in crash.values())} corrupt, "
            f"{sum(c.get('lost', 0) + c.get('duplicated', 0) for c in crash.values())} lost or duplicated changes"
        )
    return lines
