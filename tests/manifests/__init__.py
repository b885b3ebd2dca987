"""Offline tests of the kustomize manifest set (no cluster needed)."""
