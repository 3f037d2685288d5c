"""Benchmarks that print figures (not tests): run them as ``python -m bench.<name>``."""
