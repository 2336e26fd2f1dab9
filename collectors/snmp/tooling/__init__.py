"""Profile tooling: what an engineer runs while writing a profile, never the daemon.

``replay`` maps a recording through profiles with the poll's own engine, ``check``
validates profile files beyond their schema, ``new`` starts a profile from a walk of an
unknown device (with the MIB tables of ``mibs``). The CLI reaches them through
``netmon.cli.wiring``.
"""
