"""Parameter sweeps: many runs of one base config, on local processes or a Dask cluster.

- :mod:`~sim.sweeps.spec`: specs (axes, modes, seeds) and the runs they expand to;
- :mod:`~sim.sweeps.args`: specs built from ``edwc sweep`` options;
- :mod:`~sim.sweeps.execute`: one task = one whole run;
- :mod:`~sim.sweeps.driver`: :func:`run_sweep`, resumable, writes ``summary.parquet``.
"""

from sim.sweeps.driver import SweepResult, run_sweep, summary_table
from sim.sweeps.spec import SweepSpec, parse_spec

__all__ = ["SweepResult", "SweepSpec", "parse_spec", "run_sweep", "summary_table"]
