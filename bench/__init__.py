"""The benchmark behind ``make bench`` (see :mod:`bench.run` and the README)."""
