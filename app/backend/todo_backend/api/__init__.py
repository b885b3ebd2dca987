"""HTTP layer: routers and error handlers."""
