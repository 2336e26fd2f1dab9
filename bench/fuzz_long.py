"""The long fuzz run (issue 12, item 7): the properties of tests/fuzz/, each driven for
N inputs (default 10^6) instead of the suite's 200.

    python bench/fuzz_long.py                 # 10^6 inputs per target
    python bench/fuzz_long.py -n 10000        # a shorter run
    python bench/fuzz_long.py -n 10000 --targets snmp,mqtt --memory-mb 1024

Every input must finish within a second (hypothesis's deadline) and the whole process
stays under an address-space cap (RLIMIT_AS): a MemoryError is a finding like any other
exception. Inputs come in batches of --batch, each with its own seed, so hypothesis's
memory of what it generated stays bounded; a failing batch is shrunk and reported, and
the run goes on with the next batch. Prints, per target, the inputs run, the results
(declared rejections by kind) and the findings; exits 1 when there was any finding.
Results of runs: docs/fuzzing.md.

Hypothesis costs ~20 ms per input by itself, so 10^6 inputs take hours per target here:
bench/fuzz_fast.py feeds the same checks from cheap seeded generators (~100-7,000
inputs/s) and is the one used for the 10^6 runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import resource
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Target:
    name: str
    strategy: Any
    run: Callable[[Any], Counter[str]]


@dataclass
class Report:
    inputs: int = 0
    results: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    slowest: float = 0.0


def targets() -> list[Target]:
    from tests.fuzz import http_target, mqtt_target, snmp_target, trap_target, yaml_target

    def trap(case: list[bytes]) -> Counter[str]:
        trap_target.check(case)
        return Counter(datagrams=len(case))

    return [
        Target("snmp", snmp_target.cases(), snmp_target.check),
        Target("mqtt", mqtt_target.messages, lambda c: Counter(mqtt_target.check(c))),
        Target("trap", trap_target.datagrams, trap),
        Target("config", yaml_target.configs(), lambda c: Counter([yaml_target.check_config(c)])),
        Target(
            "profile", yaml_target.profiles(), lambda c: Counter([yaml_target.check_profile(c)])
        ),
        Target("http", http_target.requests, lambda c: Counter(map(str, http_target.check(c)))),
    ]


def run(target: Target, total: int, batch: int, seed: int) -> Report:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as with_seed

    report = Report()
    started = time.monotonic()
    n = 0
    while report.inputs < total:
        size = min(batch, total - report.inputs)

        @with_seed(seed + n)
        @settings(
            max_examples=size,
            deadline=1000,  # ms: any input taking more than a second is a finding
            database=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
        )
        @given(target.strategy)
        def prop(case: Any) -> None:
            t0 = time.monotonic()
            report.results.update(target.run(case))
            report.inputs += 1
            report.slowest = max(report.slowest, time.monotonic() - t0)

        before = report.inputs
        try:
            prop()
        except BaseException as exc:  # a MemoryError or a deadline too: all are findings
            if isinstance(exc, KeyboardInterrupt):
                raise
            text = "".join(traceback.format_exception(exc))
            report.findings.append(f"seed {seed + n}:\n{text}")
        if report.inputs == before:  # nothing more to generate, or every input failed
            break
        n += 1
    if target.name == "trap":
        from tests.fuzz import trap_target

        rx = trap_target.receiver()
        report.results.update({f"counted:{k}": int(v) for k, v in rx.counts().items() if v})
        report.results["pysnmp_parse_errors"] = rx.parse_errors()
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--inputs", type=int, default=10**6, help="inputs per target")
    parser.add_argument("--batch", type=int, default=500, help="inputs per hypothesis run")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--memory-mb", type=int, default=2048, help="RLIMIT_AS cap")
    parser.add_argument("--targets", default="", help="comma separated; default all")
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args(argv)
    cap = args.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import structlog

    # the collectors log every accepted trap and applied message: keep stdout the report
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # its 400s for long lines
    wanted = set(filter(None, args.targets.split(",")))
    chosen = [t for t in targets() if not wanted or t.name in wanted]
    print(f"# {platform.node()} {platform.platform()} python {platform.python_version()}")
    print(f"# {args.inputs} inputs per target, 1 s per input, {args.memory_mb} MiB address space")
    out: dict[str, Any] = {}
    failed = False
    for target in chosen:
        report = run(target, args.inputs, args.batch, args.seed)
        failed = failed or bool(report.findings)
        print(
            f"{target.name:8} inputs={report.inputs} findings={len(report.findings)} "
            f"seconds={report.seconds:.0f} slowest={report.slowest * 1000:.0f}ms "
            f"max_rss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}MiB"
        )
        print(f"         results={dict(report.results.most_common())}")
        for finding in report.findings:
            print(finding)
        out[target.name] = {
            "inputs": report.inputs,
            "results": dict(report.results),
            "findings": report.findings,
            "seconds": round(report.seconds, 1),
            "slowest_ms": round(report.slowest * 1000),
        }
        sys.stdout.flush()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
