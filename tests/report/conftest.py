"""Fixtures for the results-folder and report tests (the builders live in results_factory)."""

from results_factory import build, canary

__all__ = ["build", "canary"]
