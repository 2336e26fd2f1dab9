"""HTML to PDF with Debian's chromium, headless (`--print-to-pdf`): the same engine that
shows the HTML prints it, so the PDF looks like the print preview. Run in a throwaway
profile folder, with a deadline; a missing or failing chromium is a PdfError that says
which package to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


class PdfError(RuntimeError):
    """No PDF: chromium is missing, failed or took too long."""


def browser() -> str | None:
    """The chromium to use: $NETMON_CHROMIUM, else the first one found."""
    chosen = os.environ.get("NETMON_CHROMIUM")
    for name in (chosen,) if chosen else CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def render(html: Path, pdf: Path, timeout: float = 120.0) -> None:
    """Print ``html`` (a file) to ``pdf``."""
    exe = browser()
    if exe is None:
        raise PdfError(
            "no chromium found: install Debian's `chromium` package (or set $NETMON_CHROMIUM)"
        )
    with tempfile.TemporaryDirectory(prefix="netmon-pdf-") as profile:
        tmp = pdf.with_name(f".{pdf.name}.tmp")
        cmd = [
            exe,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--no-pdf-header-footer",
            # the sandbox needs user namespaces, which containers and root runs lack; the
            # page is our own file, with no script
            "--no-sandbox",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={tmp}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env={**os.environ, "HOME": profile},
            )
        except subprocess.TimeoutExpired:
            tmp.unlink(missing_ok=True)
            raise PdfError(f"chromium took more than {timeout:.0f} s") from None
        if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            tmp.unlink(missing_ok=True)
            tail = done.stderr.strip().splitlines()[-3:]
            raise PdfError(f"chromium failed (exit {done.returncode}): {' | '.join(tail)}")
        os.replace(tmp, pdf)
