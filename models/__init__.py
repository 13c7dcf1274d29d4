"""edwc domain models: reference data, topology, workloads, energy and the LP.

Pure maths and data: nothing here imports simpy or the CLI, and nothing here
imports :mod:`sim`.
"""
