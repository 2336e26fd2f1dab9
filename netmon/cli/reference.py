"""`netmon reference [metrics|config|alerts]`: the generated references in docs/."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reference = sub.add_parser(
        "reference",
        help="print the metric reference (docs/metrics.md) or the configuration reference",
    )
    reference.add_argument(
        "what",
        nargs="?",
        default="metrics",
        choices=["metrics", "config", "alerts"],
        help="metrics: docs/metrics.md; config: docs/configuration.md; alerts: docs/alerts.md",
    )
    reference.set_defaults(func=cmd_reference)


def cmd_reference(args: argparse.Namespace) -> int:
    if args.what == "alerts":
        from netmon.tools.reference.alerts import alert_reference

        sys.stdout.write(alert_reference())
        return 0
    from netmon.cli.wiring import REGISTRY

    if args.what == "config":
        from netmon.tools.reference.config import render

        sys.stdout.write(render(REGISTRY))
        return 0
    from netmon.tools.reference.metrics import metric_reference

    sys.stdout.write(metric_reference(REGISTRY))
    return 0
