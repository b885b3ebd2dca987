"""Configuration and database plumbing."""
