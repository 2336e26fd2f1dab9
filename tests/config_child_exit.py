"""A registry module whose import ends the process at once (exit code 3): what a loading
child killed mid-load looks like to the daemon (tests/integration/test_config_process.py).
Never imported by anything but that test's child."""

import os

os._exit(3)
