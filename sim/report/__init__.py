"""Reports drawn from a run or sweep folder alone: PNG figures and a self-contained HTML page.

Reports read the files of a folder (:mod:`sim.runfolder`) and nothing of the
engine, the policies or the runner.
"""

from sim.report.write import write_report, write_run_report

__all__ = ["write_report", "write_run_report"]
