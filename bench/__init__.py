"""Benchmarks: each runs a baseline in the same run and prints a ratio."""
