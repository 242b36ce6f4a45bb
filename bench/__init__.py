"""Benchmarks: each `python -m bench.NAME` measures one thing and ends with one JSON line of figures.

`python -m bench` runs them all and writes docs/benchmarks.md with the figures and the machine
they came from. Speed and memory are measured here, never asserted in tests.
"""
