"""Demand: workload classes, the jobs they generate, demand shapes, forecasts and traces.

- :mod:`~models.demand.workload`: :class:`ClassSpec` and :class:`Jobs` (columnar job tables);
- :mod:`~models.demand.profiles`: diurnal and weekly shapes, bursts, forecasts;
- :mod:`~models.demand.trace`: job traces read from and written to CSV/Parquet.
"""

from models.demand.trace import read_trace, write_trace
from models.demand.workload import ClassSpec, Jobs, iter_jobs

__all__ = ["ClassSpec", "Jobs", "iter_jobs", "read_trace", "write_trace"]
