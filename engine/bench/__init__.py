"""Benchmarks behind `tensorstage bench`: each prints a table and can write JSON."""
