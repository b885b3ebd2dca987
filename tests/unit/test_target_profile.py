"""--profile end to end without a cluster: the options refuse a bad profile by file and field, and a scenario whose
promise the profile does not make is recorded not applicable, so the verdict is never a silent pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle.env import REPO_ROOT, Options, OptionsError, profile_digest
from support.profile import REFERENCE_PROFILE

WALKTHROUGH = REPO_ROOT / "profiles" / "walkthrough.yaml"


def test_the_default_profile_is_the_reference_app_with_its_manifests() -> None:
    """No --profile: the reference app, deployed from the manifests its profile names."""
    options = Options()
    assert options.target_profile().name == "reference"
    assert options.manifests_dir() == REPO_ROOT / "manifests" / "overlays" / "kind"
    options.validate()


def test_a_bad_profile_is_refused_naming_the_file_and_the_field(tmp_path: Path) -> None:
    """A misspelt field is an OptionsError (a usage error) that names the file and the field path."""
    text = REFERENCE_PROFILE.read_text().replace("  backend:\n    deployment:", "  backend:\n    deploymnet:", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(OptionsError) as caught:
        Options(profile=bad).validate()
    message = str(caught.value)
    assert message.startswith("--profile: ")
    assert f"{bad}: tiers.backend.deploymnet: unknown field" in message
    assert f"{bad}: tiers.backend.deployment: field required" in message


def test_a_profile_that_is_no_file_is_refused(tmp_path: Path) -> None:
    """A path that does not exist is named."""
    with pytest.raises(OptionsError, match=r"missing\.yaml: cannot be read"):
        Options(profile=tmp_path / "missing.yaml").validate()


def test_image_overrides_are_by_tier_of_the_profile() -> None:
    """--backend-image and friends name a tier the profile builds an image for; anything else is refused."""
    Options(images={"backend": "x/backend:1"}).validate()
    with pytest.raises(OptionsError, match=r"tier\(s\) \['todo-backend'\].*builds images for"):
        Options(images={"todo-backend": "x/backend:1"}).validate()


def test_the_profile_digest_is_of_the_file_as_read(tmp_path: Path) -> None:
    """Two profiles that differ by one byte have different digests (the results name exactly what ran)."""
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(REFERENCE_PROFILE.read_text())
    two.write_text(REFERENCE_PROFILE.read_text() + "\n")
    assert profile_digest(one) == profile_digest(REFERENCE_PROFILE) != profile_digest(two)


def test_scenarios_the_profile_does_not_promise_are_recorded_not_applicable(tmp_path: Path) -> None:
    """The walk-through profile makes no rename promise: its rename scenario is not run, recorded as
    not_applicable with the reason, the scope lists it, the verdict is not ACCEPTED and the profile is named."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/e2e",
            "-m",
            "needs_rename",
            "--profile",
            str(WALKTHROUGH),
            "--results-dir",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    (results,) = tmp_path.glob("*/results.json")
    data = json.loads(results.read_text())
    assert data["scenarios"], done.stdout + done.stderr
    for scenario in data["scenarios"]:
        assert scenario["outcome"] == "not_applicable", scenario
        assert scenario["reason"].startswith("not applicable: profile 'walkthrough' does not make the promise rename")
    assert data["verdict"] != "ACCEPTED" and data["exit_code"] != 0
    assert not data["scope"]["complete"]
    assert any(": not applicable: profile 'walkthrough'" in line for line in data["scope"]["not_applicable"]), data[
        "scope"
    ]
    assert data["environment"]["profile"] == "walkthrough"
    assert data["environment"]["profile_sha256"] == profile_digest(WALKTHROUGH)
    assert done.returncode != 0, "a run where nothing applied must not exit as a pass"
