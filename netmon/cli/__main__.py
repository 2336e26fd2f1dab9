"""`python -m netmon.cli`: the same as the `netmon` command (and `python -m netmon`)."""

import sys

from netmon.cli.main import main

sys.exit(main())
