"""Eval: expected-answer sets, retrieval and answer metrics, reports."""
