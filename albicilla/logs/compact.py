"""`albicilla-compact`: compress the session files of closed days, and remove old days on request.

albicilla-compact --logs ./proxy_logs [--idle 1h] [--dry-run] [--older-than DAYS [--delete]]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import IO

from .compaction import (
    CompactError,
    compact_file,
    idle_files,
    open_day,
    remove_stale_temps,
)
from .tree import DAY, log_roots, sorted_entries

_DURATION = re.compile(r"(\d+)([smhd]?)\Z")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class _Usage(Exception):
    """Bad input: one line on stderr, exit 2."""


def parse_duration(text: str) -> float:
    """Seconds in `90s`, `15m`, `1h`, `2d` or a plain number of seconds; raises ValueError."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"not a duration: {text!r} (examples: 90s, 15m, 1h, 0)")
    return int(found[1]) * _UNITS[found[2]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="albicilla-compact",
        description="Compress each session file of a closed UTC day into <name>.jsonl.zst "
        "beside it (zstd; readable with zstdcat), then remove the .jsonl.",
    )
    parser.add_argument(
        "--logs",
        action="append",
        required=True,
        metavar="DIR",
        help="a log root, or a directory of roots (one per host); repeatable",
    )
    parser.add_argument(
        "--idle",
        default="1h",
        help="leave files changed more recently than this (90s, 15m, 1h; 0: no wait; default 1h)",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    parser.add_argument(
        "--older-than",
        type=int,
        metavar="DAYS",
        help="list day directories older than DAYS days (removed only with --delete)",
    )
    parser.add_argument(
        "--delete", action="store_true", help="with --older-than: remove those day directories"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    err = sys.stderr
    try:
        idle = parse_duration(args.idle)
        if args.delete and args.older_than is None:
            raise _Usage("--delete needs --older-than DAYS")
        if args.older_than is not None and args.older_than < 0:
            raise _Usage("--older-than must be 0 or more days")
        for logs in args.logs:
            if not os.path.isdir(logs):
                raise _Usage(f"--logs {logs}: not a directory")
        roots = log_roots(args.logs)
    except (ValueError, _Usage) as exc:
        print(f"albicilla-compact: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"albicilla-compact: cannot read logs: {exc.strerror or exc}", file=err)
        return 2
    now = time.time()
    today = datetime.fromtimestamp(now, UTC).date()
    failed = False
    if args.older_than is not None:
        failed |= _retention(roots, today - timedelta(days=args.older_than), args, sys.stdout, err)
    totals = [0, 0, 0]  # files, bytes before, bytes after
    for root in roots:
        for day in _days(root, err):
            if date.fromisoformat(day) >= today:
                continue  # the UTC day is not over: writers may still append
            failed |= _compact_day(os.path.join(root, day), now - idle, args.dry_run, totals, err)
    files, before, after = totals
    if args.dry_run:
        print(f"dry run: would compress {files} files, {before} bytes", file=sys.stdout)
    else:
        ratio = f"{before / after:.1f}x" if after else "-"
        print(
            f"compacted {files} files: {before} bytes -> {after} bytes ({ratio})", file=sys.stdout
        )
    return 1 if failed else 0


def _days(root: str, err: IO[str]) -> list[str]:
    try:
        names = sorted_entries(root, want_dir=True)
    except OSError as exc:
        print(f"albicilla-compact: {root}: {exc.strerror or exc}", file=err)
        return []
    return [name for name in names if DAY.match(name) and _is_date(name)]


def _is_date(name: str) -> bool:
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def _compact_day(
    day_dir: str, cutoff: float, dry_run: bool, totals: list[int], err: IO[str]
) -> bool:
    """Compact the idle files of one closed day; returns whether any failed."""
    failed = False
    try:
        dir_fd = open_day(day_dir)
    except OSError as exc:
        print(f"albicilla-compact: {day_dir}: {exc.strerror or exc}", file=err)
        return True
    try:
        if not dry_run:
            remove_stale_temps(dir_fd)
        for name in idle_files(dir_fd, cutoff):
            where = os.path.join(day_dir, name)
            try:
                outcome = compact_file(dir_fd, name, dry_run)
            except CompactError as exc:
                print(f"albicilla-compact: {where}: {exc}", file=err)
                failed = True
                continue
            except OSError as exc:
                print(f"albicilla-compact: {where}: {exc.strerror or exc}", file=err)
                failed = True
                continue
            if dry_run:
                print(f"would compress {where} ({outcome.before} bytes)", file=sys.stdout)
            totals[0] += 1
            totals[1] += outcome.before
            totals[2] += outcome.after
    except OSError as exc:
        print(f"albicilla-compact: {day_dir}: {exc.strerror or exc}", file=err)
        failed = True
    finally:
        os.close(dir_fd)
    return failed


def _retention(
    roots: list[str], limit: date, args: argparse.Namespace, out: IO[str], err: IO[str]
) -> bool:
    """List (or with --delete remove) the day directories before `limit`; returns whether any
    removal failed."""
    failed = False
    for root in roots:
        for day in _days(root, err):
            if date.fromisoformat(day) >= limit:
                continue
            path = os.path.join(root, day)
            if not args.delete or args.dry_run:
                print(f"older than {args.older_than} days: {path}", file=out)
                continue
            try:
                shutil.rmtree(path)
            except OSError as exc:
                print(f"albicilla-compact: cannot remove {path}: {exc.strerror or exc}", file=err)
                failed = True
                continue
            print(f"removed {path}", file=out)
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
