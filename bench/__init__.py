"""Benchmarks: ``python -m bench`` (or ``make bench``) runs them all and prints one table.

Every figure is measured in the same run as its reference, and reported as a ratio to it.
"""
