"""The cluster kit: a real multi-node kind cluster built from package registries alone.

Public entry for the suite: :mod:`kit.api`. Command line: ``python -m kit --help``.
"""
