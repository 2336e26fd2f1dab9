"""The generated references: metrics (docs/metrics.md), alerts (docs/alerts.md) and the
configuration (docs/configuration.md). A test fails when a committed file is stale."""
