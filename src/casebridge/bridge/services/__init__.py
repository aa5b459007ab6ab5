"""The bridge's writes: connection (activation, defaults, re-authentication), readiness,
outbox (sends, voids, retries), delivery (the worker's side) and status_sync."""
