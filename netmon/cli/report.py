"""`netmon report --month YYYY-MM`: the monthly report per contract and per kabupaten, as
CSV, HTML and PDF (see docs/report.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report", help="the monthly report per ISP contract and kabupaten (CSV, HTML, PDF)"
    )
    p.add_argument("-c", "--config", default="config/netmon.yaml")
    p.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-11")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--contract", metavar="ID", help="only this contract")
    scope.add_argument("--kabupaten", metavar="NAME", help="only this kabupaten")
    p.add_argument(
        "--prometheus", metavar="URL", help="add RTT, loss, utilisation from this Prometheus"
    )
    p.add_argument("--out", default="reports", help="folder for the files (default: reports)")
    p.add_argument("--lang", choices=["id", "en"], default="id")
    p.add_argument("--journal", help="the outage journal (default: status.journal_file)")
    p.add_argument(
        "--scrape-interval",
        type=float,
        default=30.0,
        help="seconds; journal and recording rules agree within this per transition",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per Prometheus query")
    p.add_argument("--no-pdf", action="store_true", help="CSV and HTML only")
    p.add_argument("--example", action="store_true", help="mark the report as an example")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from netmon.cli.wiring import REGISTRY
    from netmon.config import ConfigErrors, load
    from netmon.report import assemble, sources
    from netmon.report.pdf import PdfError
    from netmon.report.pdf import render as to_pdf
    from netmon.report.prometheus import PrometheusError
    from netmon.report.render import Words, csv_text, html_text

    try:
        config = load(args.config, REGISTRY, secrets=False)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    now = time.time()
    try:
        journal = sources.journal_path(config, args.journal)
        outages = sources.outages(config, journal, now)
        reports = assemble.build(
            args.month,
            sources.sites(config),
            sources.contracts(config),
            outages,
            contract_id=args.contract,
            kabupaten=args.kabupaten,
            prometheus=args.prometheus,
            timeout=args.timeout,
            scrape_interval=args.scrape_interval,
        )
    except (ValueError, PrometheusError, OSError) as exc:
        print(f"netmon report: {exc}", file=sys.stderr)
        return 1
    if journal is None:
        print("warning: no outage journal configured (status.journal_file)", file=sys.stderr)
    if not reports:
        print(f"netmon report: nothing to report for {args.month}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    words = Words(args.lang)
    for report in reports:
        stem = out / f"report-{report.month}-{report.slug}"
        stem.with_suffix(".csv").write_text(csv_text(report, words), encoding="utf-8")
        html = stem.with_suffix(".html")
        html.write_text(html_text(report, words, now, args.example), encoding="utf-8")
        made = [stem.with_suffix(".csv"), html]
        if not args.no_pdf:
            try:
                to_pdf(html, stem.with_suffix(".pdf"))
            except PdfError as exc:
                print(f"netmon report: {exc}", file=sys.stderr)
                return 1
            made.append(stem.with_suffix(".pdf"))
        print(" ".join(str(p) for p in made))
    return 0
