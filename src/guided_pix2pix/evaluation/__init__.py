"""Evaluation: the scoring engine, its batching, the HTML report, and the quickstart."""
