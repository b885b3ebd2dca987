"""Steps that run the project's chaostoolkit experiments in-process against the suite's cluster."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from support.chaos import ChaosDeviation, ChaosHandle, ChaosOutcome
from support.cluster import ClusterHandle
from support.results import Results

__all__: list[str] = []


@when(
    parsers.parse('the chaos experiment "{experiment}" runs against the suite\'s cluster'),
    target_fixture="chaos_outcome",
)
def _(deployed: ClusterHandle, chaos: ChaosHandle, experiment: str) -> ChaosOutcome:
    """Run the experiment; a deviation fails here, naming the probe that deviated."""
    try:
        return chaos.run(experiment)
    except ChaosDeviation as exc:
        probe = exc.outcome.deviated_probe if exc.outcome else None
        raise AssertionError(f"experiment {experiment!r} deviated at probe {probe!r}: {exc}") from exc


@then("the steady state held before and after the fault")
def _(chaos_outcome: ChaosOutcome) -> None:
    """The journal says completed and nothing deviated."""
    assert not chaos_outcome.deviated, f"probe {chaos_outcome.deviated_probe!r} deviated"
    assert chaos_outcome.status == "completed", f"experiment ended {chaos_outcome.status!r}"


@then("the experiment's journal is kept with the results")
def _(chaos_outcome: ChaosOutcome, results: Results) -> None:
    """The journal file lies inside the results folder."""
    path = chaos_outcome.journal_path.resolve()
    assert path.is_file(), f"journal {path} missing"
    assert results.path in path.parents, f"journal {path} is outside the results folder {results.path}"
