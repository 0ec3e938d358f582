"""What the benchmarks measure, one module per scenario; ``harness.py`` measures, ``run.py`` runs them.

Each scenario is a function taking the ``harness.Session``: it runs steps through the harness and adds
rows (measure, value, baseline, ratio, target) and JSON data to the session.
"""
