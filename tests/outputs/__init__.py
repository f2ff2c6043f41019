"""Outputs and command lines: exports, plots, summaries, the demo, the benchmark smoke test."""
