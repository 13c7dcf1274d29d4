"""The background Parquet stream writes what a plain ParquetWriter writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.runfolder.stream import ParquetStream

SCHEMA = pa.schema([("step", pa.int32()), ("x", pa.float64())])
OPTIONS = {"compression": "zstd", "use_dictionary": True}


def _batches(n: int) -> list[pa.RecordBatch]:
    rng = np.random.default_rng(5)
    return [
        pa.RecordBatch.from_arrays(
            [pa.array(np.full(1000, i, dtype=np.int32)), pa.array(rng.random(1000))], schema=SCHEMA
        )
        for i in range(n)
    ]


def test_same_bytes_as_a_plain_writer(tmp_path: Path) -> None:
    batches = _batches(12)  # more than the stream queues: write() waits for the writer
    plain = pq.ParquetWriter(tmp_path / "plain.parquet", SCHEMA, **OPTIONS)
    for b in batches:
        plain.write_batch(b)
    plain.close()
    stream = ParquetStream(tmp_path / "stream.parquet", SCHEMA, **OPTIONS)
    for b in batches:
        stream.write(b)
    stream.close()
    assert (tmp_path / "stream.parquet").read_bytes() == (tmp_path / "plain.parquet").read_bytes()
    assert pq.read_table(tmp_path / "stream.parquet").column("step").to_pylist()[::1000] == list(range(12))


def test_a_writer_error_is_raised_not_lost(tmp_path: Path) -> None:
    stream = ParquetStream(tmp_path / "out.parquet", SCHEMA, **OPTIONS)
    stream.write(_batches(1)[0])
    wrong = pa.RecordBatch.from_arrays([pa.array(["a"])], names=["other"])
    stream.write(wrong)  # fails on the writer's thread
    with pytest.raises((ValueError, pa.ArrowException)):
        stream.close()


def test_abort_drops_the_queue_and_stops_the_thread(tmp_path: Path) -> None:
    stream = ParquetStream(tmp_path / "out.parquet", SCHEMA, **OPTIONS)
    for b in _batches(12):
        stream.write(b)
    stream.abort()
    assert not any(t.is_alive() for t in stream._pool._threads)
    assert not stream._pending
    # what was written before the abort is a closed, readable file of whole batches
    steps = pq.read_table(tmp_path / "out.parquet").column("step").to_pylist()
    assert len(steps) % 1000 == 0 and steps[::1000] == list(range(len(steps) // 1000))


def test_abort_after_a_writer_error_reports_nothing_new(tmp_path: Path) -> None:
    stream = ParquetStream(tmp_path / "out.parquet", SCHEMA, **OPTIONS)
    stream.write(_batches(1)[0])
    stream.write(pa.RecordBatch.from_arrays([pa.array(["a"])], names=["other"]))
    stream.abort()  # the caller's own error is the one it reports
    assert not any(t.is_alive() for t in stream._pool._threads)
