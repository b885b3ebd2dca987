"""Benchmarks of the kit, the deployment and its recovery (`nox -s bench` -> `python -m bench`)."""
