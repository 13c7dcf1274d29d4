"""What every ``edwc`` command shares: bad input becomes one line and exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

EXIT_BAD_INPUT = 2


def guard[F: Callable[..., Any]](fn: F) -> F:
    """Turn :class:`models.errors.InputError` into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from models.errors import InputError

        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo(f"edwc: error: {exc.render()}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]
