"""Benchmarks (run on demand; results are written next to them)."""
