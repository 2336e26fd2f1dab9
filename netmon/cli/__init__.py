"""The `netmon` command: check, run, poll, demo, profiles, reference.

One module per command; :mod:`netmon.cli.main` builds the parser. The CLI is where
netmon meets its collectors (:mod:`netmon.cli.wiring`): it hands their explicit
list to the daemon, the config loader and the reference generators.
"""

from netmon.cli.main import build_parser, main
from netmon.cli.run import serve

__all__ = ["build_parser", "main", "serve"]
