"""The suite's own chaostoolkit probes and actions, built on the conditions the pytest-bdd steps use."""

from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result
from chaoslib.types import Discovery

__all__ = ["discover"]
__version__ = "0.1.0"


def discover(discover_system: bool = True) -> Discovery:
    """List this extension's probes and actions the way `chaos discover` expects."""
    discovery: Discovery = initialize_discovery_result("todo-chaos", __version__, "todo_chaos")
    discovery["activities"].extend(discover_probes("chaos.todo_chaos.probes"))
    discovery["activities"].extend(discover_actions("chaos.todo_chaos.actions"))
    return discovery
