"""The sign-off report: render a results folder's results.json as HTML, and compare two runs."""

from report.compare import compare
from report.render import render

__all__ = ["compare", "render"]
