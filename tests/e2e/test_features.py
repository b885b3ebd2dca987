"""Every feature of the suite, bound in one place (steps come from the plugins in the root conftest)."""

import pytest
from pytest_bdd import scenarios

# Set the cluster up and deploy before the first scenario starts, so that its duration (in the live progress and
# the report) is the scenario's own; the setup times are recorded in the results' environment.
pytestmark = pytest.mark.usefixtures("deployed")

scenarios(
    "deployment",
    "todos",
    "browser",
    "pod_loss",
    "node_loss",
    "durability",
    "availability",
    "experiments",
    "network",
    "pressure",
    "upgrades",
)
