"""The probes: one coroutine per check kind, each returning an :class:`Outcome` and
raising only for cancellation (the collector bounds each with its timeout)."""
