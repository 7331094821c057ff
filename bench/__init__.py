"""Benchmarks that print figures and the command that reproduces them; never part of the tests.

Run each from the repository root as a module, e.g. `.venv/bin/python -m bench.bench_scale`.
"""
