"""The long fuzz run, fast (issue 12, item 7): the property checks of tests/fuzz/ fed by
the seeded generators of bench/fuzz_inputs.py instead of hypothesis, one process per
target, --jobs at a time.

    python bench/fuzz_fast.py -n 1000000 --json bench/results/fuzz_fast-DATE.json
    python bench/fuzz_fast.py -n 1000000 --max-seconds 600 --targets config,http
    python bench/fuzz_fast.py --replay trap:123456      # print and rerun one input

A failure is what the suite calls one: any exception out of the check that is not the
declared, counted rejection (the checks assert that), an input taking more than 1 s
(measured; an input still running after --hang seconds is interrupted), or memory over
the RLIMIT_AS cap (a MemoryError). Input i of a target is drawn from
``random.Random(f"{target}:{seed}:{i}")``, so every finding can be replayed alone and a
run can be continued (--start) or split.
Findings are grouped by exception type and innermost frame; the first input of each
group is kept. Results of runs: docs/fuzzing.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import platform
import random
import resource
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
NAMES = ["snmp", "trap", "mqtt", "http", "profile", "config"]
SLOW = 1.0  # seconds: an input slower than this is a finding


class Hang(Exception):
    """An input still running after --hang seconds."""


def _quiet() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import structlog

    # the collectors log every accepted trap and applied message: keep the output the report
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)


def targets() -> dict[str, tuple[Callable[[random.Random], Any], Callable[[Any], Counter[str]]]]:
    import fuzz_inputs as gen

    from tests.fuzz import http_target, mqtt_target, snmp_target, trap_target, yaml_target

    def trap(case: list[bytes]) -> Counter[str]:
        trap_target.check(case)
        return Counter(datagrams=len(case))

    return {
        "snmp": (gen.snmp_case, snmp_target.check),
        "mqtt": (gen.mqtt_case, lambda c: Counter(mqtt_target.check(c))),
        "trap": (gen.trap_case, trap),
        "config": (gen.config_case, lambda c: Counter([yaml_target.check_config(c)])),
        "profile": (gen.profile_case, lambda c: Counter([yaml_target.check_profile(c)])),
        "http": (gen.http_case, lambda c: Counter(map(str, http_target.check(c)))),
    }


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}"


def fuzz(job: tuple[str, int, int, float, int, int, float]) -> dict[str, Any]:
    """Run one target in this (fresh) process; the report as JSON-able data."""
    name, start, total, max_seconds, seed, memory_mb, hang = job
    cap = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    _quiet()
    generate, check = targets()[name]

    def on_alarm(_sig: int, _frame: FrameType | None) -> None:
        raise Hang(f"still running after {hang} s")

    signal.signal(signal.SIGALRM, on_alarm)
    results: Counter[str] = Counter()
    findings: dict[str, dict[str, Any]] = {}
    slowest, slowest_at, gen_seconds = 0.0, -1, 0.0
    started = time.monotonic()
    done = 0
    for i in range(start, start + total):
        if max_seconds and time.monotonic() - started > max_seconds:
            break
        t0 = time.perf_counter()
        case = generate(random.Random(f"{name}:{seed}:{i}"))
        t1 = time.perf_counter()
        gen_seconds += t1 - t0
        failure: BaseException | None = None
        signal.setitimer(signal.ITIMER_REAL, hang)
        try:
            results.update(check(case))
        except BaseException as exc:  # MemoryError, Hang, AssertionError...: all findings
            if isinstance(exc, KeyboardInterrupt):
                raise
            failure = exc
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - t1
        if took > slowest:
            slowest, slowest_at = took, i
        if failure is None and took > SLOW:
            failure = TimeoutError(f"{took:.2f} s")
        if failure is not None:
            key = _signature(failure)
            if key not in findings:
                findings[key] = {
                    "count": 0,
                    "first": i,
                    "input": repr(case)[:2000],
                    "traceback": "".join(traceback.format_exception(failure))[-4000:],
                }
            findings[key]["count"] += 1
        done += 1
        if done % 100_000 == 0:
            rate = done / (time.monotonic() - started)
            print(f"# {name}: {done} inputs, {rate:.0f}/s", file=sys.stderr, flush=True)
    seconds = time.monotonic() - started
    if name == "trap":
        from tests.fuzz import trap_target

        rx = trap_target.receiver()
        results.update({f"counted:{k}": int(v) for k, v in rx.counts().items() if v})
        results["pysnmp_parse_errors"] = rx.parse_errors()
    return {
        "target": name,
        "inputs": done,
        "first_input": start,
        "seconds": round(seconds, 1),
        "inputs_per_s": round(done / seconds, 1) if seconds else 0.0,
        "generate_ms_per_input": round(gen_seconds / max(done, 1) * 1000, 4),
        "slowest_ms": round(slowest * 1000, 1),
        "slowest_input": slowest_at,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "results": dict(results.most_common()),
        "findings": findings,
    }


def replay(spec: str, seed: int) -> int:
    _quiet()
    name, index = spec.split(":")
    generate, check = targets()[name]
    case = generate(random.Random(f"{name}:{seed}:{int(index)}"))
    print(repr(case))
    print(check(case))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--inputs", type=int, default=10**6, help="inputs per target")
    parser.add_argument("--start", type=int, default=0, help="index of the first input")
    parser.add_argument("--max-seconds", type=float, default=0, help="per target; 0: no limit")
    parser.add_argument("--targets", default="", help=f"comma separated, of {','.join(NAMES)}")
    parser.add_argument("--jobs", type=int, default=2, help="targets run at once")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--memory-mb", type=int, default=2048, help="RLIMIT_AS cap per target")
    parser.add_argument("--hang", type=float, default=10.0, help="interrupt an input after")
    parser.add_argument("--json", type=Path, help="write the report here too")
    parser.add_argument("--replay", help="target:index: generate and check that one input")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay, args.seed)
    chosen = [n for n in NAMES if not args.targets or n in args.targets.split(",")]
    jobs = [
        (n, args.start, args.inputs, args.max_seconds, args.seed, args.memory_mb, args.hang)
        for n in chosen
    ]
    print(f"# {platform.node()} {platform.platform()} python {platform.python_version()}")
    print(
        f"# {args.inputs} inputs per target (at most {args.max_seconds or 'unlimited'} s each), "
        f"seed {args.seed}, {args.jobs} jobs, {args.memory_mb} MiB address space each"
    )
    started = time.monotonic()
    reports = []
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.jobs, maxtasksperchild=1) as pool:  # a fresh process per target
        for report in pool.imap_unordered(fuzz, jobs):
            reports.append(report)
            print(
                f"{report['target']:8} inputs={report['inputs']} from={report['first_input']} "
                f"findings="
                f"{sum(f['count'] for f in report['findings'].values())} "
                f"seconds={report['seconds']:.0f} inputs/s={report['inputs_per_s']:.0f} "
                f"slowest={report['slowest_ms']:.0f}ms (input {report['slowest_input']}) "
                f"max_rss={report['max_rss_mib']}MiB"
            )
            print(f"         results={report['results']}")
            for key, finding in report["findings"].items():
                print(f"  FINDING {key} x{finding['count']}, first input {finding['first']}")
                print(f"    input: {finding['input'][:500]}")
                print("    " + finding["traceback"].replace("\n", "\n    "))
            sys.stdout.flush()
    wall = time.monotonic() - started
    print(f"# wall {wall:.0f} s")
    if args.json:
        meta = {"node": platform.node(), "platform": platform.platform(), "seed": args.seed}
        meta |= {"python": platform.python_version(), "wall_seconds": round(wall, 1)}
        meta |= {"date": time.strftime("%Y-%m-%d"), "argv": sys.argv[1:]}
        args.json.write_text(json.dumps({"run": meta, "targets": reports}, indent=2) + "\n")
    return 1 if any(r["findings"] for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
