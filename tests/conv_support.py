"""Folding proxy logs the way the converter does, stopping before the output formats."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from albicilla.conv.apis import to_exchange
from albicilla.conv.apis.common import ChatForm, Context
from albicilla.conv.chains import REMEMBERED, ResponseChains
from albicilla.conv.fold import SessionFolder
from albicilla.logs.records import iter_records
from albicilla.logs.tree import find_session_files


def write_logs(root: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    """Write `{"<day>/<name>.jsonl": records}` under `root`."""
    for name, records in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return root


def fold_logs(
    root: Path, remembered: int = REMEMBERED
) -> tuple[dict[str, list[dict[str, Any]]], Counter[str], Counter[str]]:
    """Conversations (`{"messages", "tools"}` in chat form) by `<day>/<file>`, skip reasons,
    and dropped items, from the converter's own pieces in the converter's order."""
    files = find_session_files(str(root))
    context = Context(Counter(), ResponseChains([f.path for f in files], remembered))
    skipped: Counter[str] = Counter()
    lines = {}
    for session in files:
        folder = SessionFolder()
        for _, record in iter_records(session.path, lambda number, reason: None):
            exchange = to_exchange(record, context)
            if isinstance(exchange, ChatForm):
                assert folder.add(exchange.messages, exchange.replies, exchange.tools)
            else:
                skipped[exchange] += 1
        lines[session.label] = [
            {"messages": messages, "tools": tools} for messages, tools in folder.conversations()
        ]
    return lines, skipped, context.dropped
