"""The counts of a conversion run, gathered per session file and added up in file order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    files: int = 0
    records: int = 0
    used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    damaged: int = 0
    conversations: int = 0
    invalid_arguments: int = 0
    dropped_lines: Counter[str] = field(default_factory=Counter)  # not written in the format
    folded: int = 0  # used records whose every reply lives on inside a longer conversation
    # used records that folded with messages equal to theirs but for the tool-call ids
    id_only_folds: int = 0
    # items and blocks with no chat form (hosted tool calls, redacted thinking), by kind
    dropped_items: Counter[str] = field(default_factory=Counter)
    # Secrets replaced (and e-mail pseudonyms written) by kind; `redacting` when either was asked.
    redactions: Counter[str] = field(default_factory=Counter)
    redacting: bool = False
    # Tool names the native format had to make valid, by original name: lines renamed in.
    renamed_tools: Counter[str] = field(default_factory=Counter)

    def add(self, other: Stats) -> None:
        """Add the counts of `other` (one more session file's) to these."""
        self.files += other.files
        self.records += other.records
        self.used += other.used
        self.skipped.update(other.skipped)
        self.damaged += other.damaged
        self.conversations += other.conversations
        self.invalid_arguments += other.invalid_arguments
        self.dropped_lines.update(other.dropped_lines)
        self.folded += other.folded
        self.id_only_folds += other.id_only_folds
        self.dropped_items.update(other.dropped_items)
        self.redactions.update(other.redactions)
        self.redacting = self.redacting or other.redacting
        self.renamed_tools.update(other.renamed_tools)

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        dropped = sum(self.dropped_items.values())
        return (
            f"{self.files} files, {self.records} records read, {self.used} used, "
            f"{skipped} skipped{_by_kind(self.skipped)}, "
            f"{self.damaged} damaged lines, {self.conversations} conversations written, "
            f"{self.invalid_arguments} invalid tool arguments"
            + (f", {dropped} items dropped{_by_kind(self.dropped_items)}" if dropped else "")
            + self._dropped()
            + self._redaction_summary()
            + self._renamed()
        )

    def _redaction_summary(self) -> str:
        if not self.redacting:
            return ""
        total = sum(self.redactions.values())
        return f", {total} redactions{_by_kind(self.redactions)}"

    def _renamed(self) -> str:
        if not self.renamed_tools:
            return ""
        return f", {len(self.renamed_tools)} tool names renamed"

    def _dropped(self) -> str:
        if not self.dropped_lines:
            return ""
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.dropped_lines.items()))
        return f", {sum(self.dropped_lines.values())} lines dropped ({reasons})"


def _by_kind(counts: Counter[str]) -> str:
    kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
    return f" ({kinds})" if kinds else ""
