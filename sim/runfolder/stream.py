"""A Parquet file written batch by batch on a background thread.

The engine hands its job and flow records over once a simulated day. Encoding
and compressing them (Arrow, outside the GIL) then runs on a thread of its
own, beside the simulation, instead of stopping it: on a two-core machine the
writing of a simulated year's records is nearly free. Batches are written in
the order given, with the options given, so the file's bytes are those a
plain :class:`pyarrow.parquet.ParquetWriter` would write.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ParquetStream"]

_PENDING = 4  # batches queued for the writer at most; beyond, ``write`` waits for the oldest


class ParquetStream:
    """Append record batches to ``path`` from a background thread.

    Parameters
    ----------
    path
        The file to write (opened on the first batch).
    schema
        Every batch's schema.
    **options
        Passed to :class:`pyarrow.parquet.ParquetWriter` (compression, dictionary, ...).

    Notes
    -----
    An error of the writer (a full disk, say) is raised by the next :meth:`write`
    or by :meth:`close`. Call :meth:`close` once, to finish the file, or
    :meth:`abort` when the run failed (the file is then incomplete).
    """

    def __init__(self, path: Path, schema: pa.Schema, **options: Any) -> None:
        self.path = path
        self.schema = schema
        self.options = options
        self._writer: pq.ParquetWriter | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edwc-parquet")
        self._pending: deque[Future[None]] = deque()

    def _write(self, batch: pa.RecordBatch) -> None:  # on the writer's thread
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, **self.options)
        self._writer.write_batch(batch)

    def write(self, batch: pa.RecordBatch) -> None:
        """Queue ``batch`` to be written after the batches before it."""
        pending = self._pending
        while pending and (pending[0].done() or len(pending) >= _PENDING):
            pending.popleft().result()  # raises the writer's error, if any
        pending.append(self._pool.submit(self._write, batch))

    def close(self) -> None:
        """Write what is queued, finish the file and stop the thread."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.close()

    def abort(self) -> None:
        """Stop after the batch being written: drop the queued ones, close the file (incomplete:
        the caller removes it) and stop the thread. The writer's own errors are not raised (the
        error that made the caller abort is the one to report)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        writer, self._writer = self._writer, None
        if writer is not None:
            with suppress(OSError, ValueError, pa.ArrowException):
                writer.close()
