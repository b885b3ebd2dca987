"""The results model: typed records of results.json, the verdict rules and the exit codes (no suite imports)."""
