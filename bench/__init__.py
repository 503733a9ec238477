"""Benchmark scripts that print their figures; see bench/README.md."""
