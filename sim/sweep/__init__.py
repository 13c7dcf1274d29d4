"""Parameter sweeps: many runs of one base config, on local processes or a Dask cluster.

- :mod:`~sim.sweep.spec`: specs (axes, modes, seeds) and the runs they expand to;
- :mod:`~sim.sweep.args`: specs built from ``edwc sweep`` options;
- :mod:`~sim.sweep.execute`: one task = one whole run;
- :mod:`~sim.sweep.driver`: :func:`run_sweep`, resumable, writes ``summary.parquet``.
"""

from sim.sweep.driver import SweepResult, run_sweep, summary_table
from sim.sweep.spec import SweepSpec, parse_spec

__all__ = ["SweepResult", "SweepSpec", "parse_spec", "run_sweep", "summary_table"]
