"""The ``edwc`` command line: click commands (:mod:`~sim.cli.main`) and console output."""

from sim.cli.main import cli, main

__all__ = ["cli", "main"]
