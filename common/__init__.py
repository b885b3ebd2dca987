"""Dependency-free pieces shared by the kit, the suite, the report and the app tests (stdlib only)."""
