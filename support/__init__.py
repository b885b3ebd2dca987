"""The suite's "how": cluster handle, app client, faults, safety, waits, traffic, evidence and results.

Submodules are imported explicitly (``from support.waits import wait_for``) so that importing the
pure-logic parts never loads the kubernetes client.
"""

__all__: list[str] = []
