"""Benchmarks and evaluation scripts; they print measured figures, tests do not assert them."""
