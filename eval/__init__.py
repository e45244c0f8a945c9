"""Evaluation: metrics (``eval.metrics``) and reports."""
