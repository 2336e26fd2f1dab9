"""Write the runtime Alertmanager config: Telegram bot tokens read from files.

Why: Alertmanager 0.25 (Debian 12) takes the Telegram bot token only inline (`bot_token`);
`bot_token_file` arrived in 0.26. The config kept in git names the file instead,
`bot_token: '@file:/etc/alertmanager/secrets/telegram-bot-token'`, and this script writes
the copy Alertmanager reads, with the token in it, readable by its owner only (0600).
Keep that copy off disk that is backed up, e.g. /run/alertmanager/alertmanager.yml, and
run the script before every start/reload (systemd ExecStartPre, or by hand):

    python3 render_secrets.py /etc/alertmanager/alertmanager.yml \\
        /run/alertmanager/alertmanager.yml

With `--bot-token-file` (Alertmanager >= 0.26) it writes `bot_token_file: <path>` instead
and the output holds no secret. Relative `templates:` globs are made absolute (relative to
the source file), so the copy works from any directory. Other `*_file` settings (SMTP
password, webhook credentials) are left as they are: 0.25 reads those files itself.

Needs Python 3 and PyYAML (Debian: python3-yaml). Comments are not carried over.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

FILE_REF = "@file:"
#: what a Telegram bot token looks like: <bot id>:<secret>
TOKEN_SHAPE = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")


class RenderError(Exception):
    """The config cannot be rendered; the message says where and why."""


def read_token(path: Path, where: str) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RenderError(f"{where}: cannot read {path}: {exc.strerror}") from exc
    if not TOKEN_SHAPE.match(token):
        # never echo the file's content: it may be a token with a typo
        raise RenderError(f"{where}: {path} does not hold a Telegram bot token (<id>:<secret>)")
    return token


def render(config: dict[str, Any], source_dir: Path, *, token_file_field: bool) -> None:
    """Resolve `@file:` bot tokens and relative template globs in place."""
    templates = config.get("templates") or []
    config["templates"] = [str(source_dir / t) if not os.path.isabs(t) else t for t in templates]
    for receiver in config.get("receivers") or []:
        for n, telegram in enumerate(receiver.get("telegram_configs") or []):
            where = f"receiver {receiver.get('name')!r} telegram_configs[{n}]"
            ref = telegram.get("bot_token")
            if not isinstance(ref, str) or not ref.startswith(FILE_REF):
                raise RenderError(f"{where}: bot_token must be '{FILE_REF}/path', never inline")
            path = Path(ref.removeprefix(FILE_REF))
            if token_file_field:
                del telegram["bot_token"]
                telegram["bot_token_file"] = str(path)
            else:
                telegram["bot_token"] = read_token(path, where)


def write_private(path: Path, text: str) -> None:
    """Atomically replace path with text, mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".alertmanager-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", type=Path, help="alertmanager.yml with @file: references")
    parser.add_argument("output", type=Path, help="runtime config to write (mode 0600)")
    parser.add_argument(
        "--bot-token-file",
        action="store_true",
        help="write bot_token_file: <path> (Alertmanager >= 0.26) instead of the token",
    )
    args = parser.parse_args(argv)
    source: Path = args.source
    try:
        config = yaml.safe_load(source.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise RenderError(f"{source}: not a YAML mapping")
        render(config, source.resolve().parent, token_file_field=args.bot_token_file)
    except (OSError, yaml.YAMLError, RenderError) as exc:
        print(f"render_secrets: {exc}", file=sys.stderr)
        return 1
    header = f"# Rendered from {source} by render_secrets.py: edit the source, not this file.\n"
    write_private(args.output, header + yaml.safe_dump(config, sort_keys=False, width=100))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
