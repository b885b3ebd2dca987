"""Not-applicable logic: @needs_<promise> tags against the promises a profile makes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from support.applicability import (
    NEEDS_PREFIX,
    UnknownPromise,
    marker_descriptions,
    missing_promises,
    needs_of,
    not_applicable_reason,
)
from support.profile import PROMISES, load_profile, parse_profile

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = load_profile(ROOT / "profiles" / "reference.yaml")
WALKTHROUGH = load_profile(ROOT / "profiles" / "walkthrough.yaml")


def test_needs_of_reads_only_needs_tags() -> None:
    """'@needs_x' and 'needs_x' both ask for x; other tags are not needs; each promise once."""
    assert needs_of(["@todos", "@needs_rename", "needs_served_by", "kind_only", "@needs_rename"]) == [
        "rename",
        "served_by",
    ]
    assert needs_of(["@todos", "@slow"]) == []


def test_an_unknown_needs_tag_is_an_error() -> None:
    """A misspelt tag must not make a scenario silently run or silently not apply."""
    with pytest.raises(UnknownPromise, match=r"unknown promise\(s\) renam; the promises are completed_flag"):
        needs_of(["@needs_renam"])
    with pytest.raises(UnknownPromise) as caught:
        missing_promises(REFERENCE, ["rename", "teleport"])
    assert caught.value.names == ["teleport"]


def test_missing_promises_in_the_order_asked() -> None:
    """The walk-through lacks rename and served_by; the reference lacks nothing."""
    assert missing_promises(WALKTHROUGH, ["served_by", "completed_flag", "rename"]) == ["served_by", "rename"]
    assert missing_promises(REFERENCE, list(PROMISES)) == []
    assert missing_promises(WALKTHROUGH, []) == []


def test_reason_names_the_profile_and_each_missing_promise() -> None:
    """The reason says which profile, which promise(s) and what they mean."""
    assert not_applicable_reason(REFERENCE, ["@todos", "@needs_rename"]) is None
    assert not_applicable_reason(WALKTHROUGH, ["@todos", "@needs_completed_flag"]) is None
    assert not_applicable_reason(WALKTHROUGH, ["@needs_rename"]) == (
        "not applicable: profile 'walkthrough' does not make the promise rename "
        "(A to-do's text can be changed in place)"
    )
    reason = not_applicable_reason(WALKTHROUGH, ["@needs_served_by", "@needs_title_length"])
    assert reason is not None and reason.startswith("not applicable: profile 'walkthrough' does not make the promises ")
    assert "served_by (" in reason and "title_length (" in reason


def test_a_parameter_promise_counts_only_when_given() -> None:
    """title_length applies once the profile gives its limits."""
    data = yaml.safe_load((ROOT / "profiles" / "walkthrough.yaml").read_text())
    assert not_applicable_reason(WALKTHROUGH, ["@needs_title_length"]) is not None
    data["promises"]["title_length"] = {"min": 1, "max": 255}
    assert not_applicable_reason(parse_profile(data), ["@needs_title_length"]) is None


def test_marker_descriptions_cover_the_vocabulary() -> None:
    """One strict marker per promise, each described."""
    markers = marker_descriptions()
    assert set(markers) == {f"{NEEDS_PREFIX}{name}" for name in PROMISES}
    assert all(text.startswith("needs the promise ") and len(text) > 30 for text in markers.values())


def test_feature_files_use_only_known_needs_tags() -> None:
    """Every @needs_ tag written in features/ names a promise of the vocabulary."""
    tags = {m for path in (ROOT / "features").rglob("*.feature") for m in re.findall(r"@needs_\w+", path.read_text())}
    assert not [tag for tag in tags if tag.removeprefix("@needs_") not in PROMISES], sorted(tags)
    needs_of(tags)  # raises UnknownPromise naming a bad tag
