"""The run folder: its layout (:mod:`~sim.runfolder.layout`: file names, columns, summary) and atomic writing.

Both the runner (which writes a run folder) and the reports and the Python API
(which read one) use this package; it imports nothing else of :mod:`sim`.
"""

from sim.runfolder import layout
from sim.runfolder.write import atomic_write, write_json, write_parquet, write_text

__all__ = ["atomic_write", "layout", "write_json", "write_parquet", "write_text"]
