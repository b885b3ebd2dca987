"""Every feature of the suite, bound in one place (steps come from the plugins in the root conftest)."""

from pytest_bdd import scenarios

scenarios(
    "deployment",
    "todos",
    "browser",
    "pod_loss",
    "node_loss",
    "durability",
    "availability",
    "experiments",
)
