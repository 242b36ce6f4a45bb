"""`python -m bench` rewrites only its marked summary in docs/benchmarks.md; prose around it stays."""

from __future__ import annotations

from bench.__main__ import SUMMARY_END, SUMMARY_START, with_summary


def _summary(text: str) -> str:
    return f"{SUMMARY_START}\n{text}\n{SUMMARY_END}"


def test_a_new_document_gets_a_title_and_the_summary():
    document = with_summary("", _summary("figures 1"))
    assert document.startswith("# Benchmark results\n")
    assert _summary("figures 1") in document


def test_rewriting_replaces_only_the_marked_block():
    document = with_summary("", _summary("figures 1")) + "\n## bench.kiosk\n\nHand-written analysis.\n"
    rewritten = with_summary(document, _summary("figures 2"))
    assert "figures 1" not in rewritten and _summary("figures 2") in rewritten
    assert rewritten.endswith("## bench.kiosk\n\nHand-written analysis.\n")
    assert rewritten.count(SUMMARY_START) == 1


def test_a_document_without_markers_keeps_everything_and_gets_the_summary_after_its_title():
    document = "# Benchmarks\n\n## bench.reader\n\nProse.\n"
    rewritten = with_summary(document, _summary("figures"))
    assert rewritten.startswith("# Benchmarks\n")
    assert rewritten.index(SUMMARY_START) < rewritten.index("## bench.reader")
    assert rewritten.endswith("## bench.reader\n\nProse.\n")
