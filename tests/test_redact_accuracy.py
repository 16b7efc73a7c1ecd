"""The redaction accuracy bench at a small size: no false positive, every planted secret found."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import redact_accuracy  # noqa: E402


def test_realistic_agent_logs_have_no_false_positive(tmp_path: Path) -> None:
    assert redact_accuracy.measure_false_positives(str(tmp_path), 1.0, seed=5) == {}


def test_every_planted_secret_is_found_and_labelled_in_every_place(tmp_path: Path) -> None:
    result = redact_accuracy.measure_planted(str(tmp_path), seed=5)
    assert len(result) >= 17
    for kind, tally in result.items():
        assert tally["planted"] >= len(redact_accuracy.PLACES), kind
        assert tally["found"] == tally["labelled"] == tally["planted"], (kind, tally)


def test_the_planted_measure_sees_secrets_left_in_place(tmp_path: Path) -> None:
    """Without --redact nothing is found: the measure does look for the secrets."""
    result = redact_accuracy.measure_planted(str(tmp_path), seed=5, redact=False)
    assert all(t["found"] == 0 and t["labelled"] == 0 for t in result.values())
    missed = {k for t in result.values() for k in t if k.startswith("missed in ")}
    assert missed == {f"missed in {place}" for place in redact_accuracy.PLACES}
