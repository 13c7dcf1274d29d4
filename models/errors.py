"""Errors raised for bad user input (config, data, traces).

Every such error names the file, the key path inside it and what was
expected, so the CLI can print one clear line and exit with code 2.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the user: a config, a data file or a trace.

    Parameters
    ----------
    source:
        The file (or ``--set``/``CLI``) the bad value came from.
    key_path:
        Dotted path to the bad value inside that file, e.g.
        ``workloads[0].rate_per_h``; empty when the whole file is at fault.
    message:
        What was wrong and what was expected.
    """

    def __init__(self, source: str, key_path: str, message: str) -> None:
        self.source = source
        self.key_path = key_path
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.source}: {self.key_path}" if self.key_path else self.source
        return f"{where}: {self.message}"


def format_loc(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as ``a.b[0].c``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
