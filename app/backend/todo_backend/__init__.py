"""Reference to-do REST back end (FastAPI + PyMySQL) for the acceptance suite."""

__version__ = "0.1.0"
