"""Ratio benchmarks for svc_nb: ``python -m benchmarks`` (see README, "Benchmarks")."""
