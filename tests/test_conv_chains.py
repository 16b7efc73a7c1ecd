"""`previous_response_id` chains whose ancestors are missing, cut or circular are skipped whole."""

from __future__ import annotations

from pathlib import Path

from conv_support import fold_logs, write_logs
from fixtures.agent_sessions import chained_turn as turn

from albicilla.conv.chains import REMEMBERED, ResponseChains


def said(role: str, text: str) -> dict[str, str]:
    return {"role": role, "content": text}


def test_every_descendant_of_an_unlogged_response_is_missing_context(tmp_path: Path) -> None:
    records = [turn("r2", "r1", "b"), turn("r3", "r2", "c"), turn("r9", None, "z")]
    lines, skipped, _ = fold_logs(write_logs(tmp_path, {"2026-11-26/s.jsonl": records}))
    assert lines == {
        "2026-11-26/s.jsonl": [
            {"messages": [said("user", "z"), said("assistant", "Z")], "tools": []}
        ]
    }
    assert skipped == {"missing context": 2}


def test_a_cut_parent_is_not_a_parent(tmp_path: Path) -> None:
    records = [
        turn("r1", None, "a", complete=False, error="client disconnected"),
        turn("r2", "r1", "b"),
    ]
    lines, skipped, _ = fold_logs(write_logs(tmp_path, {"2026-11-26/s.jsonl": records}))
    assert lines == {"2026-11-26/s.jsonl": []}
    assert skipped == {"incomplete": 1, "missing context": 1}


def test_an_incomplete_parent_still_gives_its_output_to_its_child(tmp_path: Path) -> None:
    # The server keeps a response cut by max_output_tokens; a child may continue from it.
    records = [turn("r1", None, "a"), turn("r2", "r1", "b"), turn("r3", "r2", "c")]
    records[1]["response"]["status"] = "incomplete"
    lines, skipped, _ = fold_logs(write_logs(tmp_path, {"2026-11-26/s.jsonl": records}))
    messages = [
        said("user", "a"),
        said("assistant", "A"),
        said("user", "b"),
        said("assistant", "B"),
        said("user", "c"),
        said("assistant", "C"),
    ]
    assert lines == {"2026-11-26/s.jsonl": [{"messages": messages, "tools": []}]}
    assert skipped == {"response incomplete": 1}


def test_a_cycle_of_response_ids_is_missing_context(tmp_path: Path) -> None:
    records = [turn("r1", "r2", "a"), turn("r2", "r1", "b")]
    lines, skipped, _ = fold_logs(write_logs(tmp_path, {"2026-11-26/s.jsonl": records}))
    assert lines == {"2026-11-26/s.jsonl": []}
    assert skipped == {"missing context": 2}


def test_a_chain_through_three_days_is_found_by_the_index(tmp_path: Path) -> None:
    files = {
        "2026-11-26/s.jsonl": [turn("r1", None, "a")],
        "2026-11-27/s.jsonl": [turn("r2", "r1", "b")],
        "2026-11-28/s.jsonl": [turn("r3", "r2", "c")],
    }
    lines, _, _ = fold_logs(write_logs(tmp_path, files), remembered=0)
    assert lines["2026-11-28/s.jsonl"] == [
        {
            "messages": [
                said("user", "a"),
                said("assistant", "A"),
                said("user", "b"),
                said("assistant", "B"),
                said("user", "c"),
                said("assistant", "C"),
            ],
            "tools": [],
        }
    ]


def test_a_response_not_stored_cannot_be_continued(tmp_path: Path) -> None:
    # The server refuses such a child; were it logged as a success, its context is unknown.
    files = {
        "2026-11-26/s.jsonl": [turn("r1", None, "a")],
        "2026-11-27/s.jsonl": [turn("r2", "r1", "b")],
    }
    files["2026-11-26/s.jsonl"][0]["request"]["store"] = False
    for remembered in (REMEMBERED, 0):
        lines, skipped, _ = fold_logs(write_logs(tmp_path / str(remembered), files), remembered)
        assert lines["2026-11-27/s.jsonl"] == []
        assert skipped == {"missing context": 1}


def test_remembered_histories_are_bounded_by_their_items_the_newest_always_kept() -> None:
    chains = ResponseChains([], remembered=25)  # no files: what is forgotten cannot be re-read
    for rid in ("a", "b", "c"):
        chains.remember(rid, [{"role": "user", "content": rid}] * 10)
    assert chains.history("a") is None
    assert chains.history("b") == [{"role": "user", "content": "b"}] * 10
    assert chains.history("c") == [{"role": "user", "content": "c"}] * 10
    chains.remember("d", [{"role": "user", "content": "d"}] * 30)  # alone over the bound
    assert chains.history("d") is not None
    assert chains.history("b") is None and chains.history("c") is None
