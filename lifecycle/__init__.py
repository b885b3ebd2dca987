"""The run's lifecycle above support and the kit: options, environment stages, teardown, scope."""
