"""The latency flows' records kept in a process of their own, beside a long run.

Once a simulated day the engine hands the segments that ended to its
:class:`~sim.engine.flowrecords.FlowSink`, which draws their request counts,
adds them to the per-class totals and the histograms' masses, and turns them
into ``flows.parquet`` rows: about a tenth of a year's run, and work that
depends on nothing the engine decides next. :class:`FlowSinkProcess` is a
``FlowSink`` that sends the day's segments to a child process running a plain
``FlowSink`` (:func:`serve`), and brings the totals, the histograms and the
time series home when the run ends (:meth:`FlowSinkProcess.collect`); the child
writes ``flows.parquet`` itself. The child does exactly what the sink would have
done, in the same order and with the same random stream (``flows``, handed over
with its state), so every output is byte-identical either way
(``tests/sim/engine/test_flowworker.py``).

:func:`open_flow_sink` chooses: a child for runs of at least
:data:`MIN_HORIZON_S` with latency classes on a machine with two or more CPUs,
else the sink in process. ``EDWC_FLOW_WORKER=0`` keeps it in process, ``=1``
asks for the child whatever the run. The child is a fresh interpreter
(``python -c``, the parent's ``sys.path`` first), so nothing of the caller's
``__main__`` runs again, whether edwc is used from the CLI, a script or a notebook.

Laws (their :class:`~sim.engine.flowrecords.LawRecord`, ~20 KB) travel once: both sides keep
the same :data:`LAWS_KEPT` most recently used, and a law the child has dropped
is sent again with the segment that uses it.
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sim.engine.flowrecords import FLOW_SCHEMA, FlowSink, LawRecord, Segment

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = ["MIN_HORIZON_S", "FlowSinkProcess", "open_flow_sink", "serve"]

# shorter runs keep their records in process: the child's start, its last day and the records'
# way home cost a few tenths of a second, which a run with little batch work (the flows alone:
# about as much work a simulated day in the engine as in the child) wins back only over months
# (30 days of the flows alone: 1.17 s in process, 1.33-1.38 s with the child)
MIN_HORIZON_S = 60 * 86_400.0
LAWS_KEPT = 1024  # laws each side keeps (the engine's cache holds 512: sim/engine/flows.py)
_ENV = "EDWC_FLOW_WORKER"
_CHILD = (
    "import json, os, sys\n"
    "out = os.fdopen(os.dup(1), 'wb'); os.dup2(2, 1)\n"  # stray prints go to stderr, not the pipe
    "sys.path[:0] = json.loads(os.environ['EDWC_FLOW_WORKER_PATH'])\n"
    "from sim.engine.flowworker import serve\n"
    "serve(sys.stdin.buffer, out)\n"
)


def open_flow_sink(scn: Scenario, n_steps: int, path: Path | None) -> FlowSink:
    """The flow sink for a run: in a child process (:class:`FlowSinkProcess`) for long runs with
    latency classes that write ``flows.parquet`` (``path``) on two or more CPUs
    (``EDWC_FLOW_WORKER``: ``0`` never, ``1`` whatever the horizon and CPUs), else a
    :class:`FlowSink` in process. Either gives the same records, bit for bit. Records kept in
    memory (``path`` None) stay in process: bringing a long run's rows home would cost
    more than the child saves."""
    want = os.environ.get(_ENV, "").strip()
    if want == "0" or path is None or not any(c.is_latency for c in scn.classes):
        return FlowSink(scn, n_steps, path)
    if want != "1" and (scn.horizon_s < MIN_HORIZON_S or _cpus() < 2):
        return FlowSink(scn, n_steps, path)
    return FlowSinkProcess(scn, n_steps, path)


def _cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class FlowSinkProcess(FlowSink):
    """A :class:`FlowSink` whose segments are counted and recorded in a child process.

    Between :meth:`add_ended` calls and :meth:`collect` its own totals stay empty;
    :meth:`collect` (the engine's end of run) waits for the child, which writes the
    last rows and closes ``flows.parquet``, and takes over its totals, histograms,
    per-step series and (in memory) record batches. Errors of the child are raised
    there, as a ``RuntimeError`` carrying its traceback.
    """

    def __init__(
        self, scn: Scenario, n_steps: int, path: Path | None = None, laws_kept: int = LAWS_KEPT
    ) -> None:
        super().__init__(scn, n_steps, path)
        self._laws_kept = laws_kept
        env = dict(os.environ, EDWC_FLOW_WORKER_PATH=json.dumps([p for p in sys.path if p]))
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._finalizer = weakref.finalize(self, _stop, self._proc)
        # messages go down the pipe from a thread of their own: the engine never waits for the
        # child (starting up, or busy with the day before)
        assert self._proc.stdin is not None
        self._outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._pipe_errors: list[BaseException] = []
        self._sender = threading.Thread(
            target=_pump, args=(self._outbox, self._proc.stdin, self._pipe_errors), name="edwc-flow-records",
            daemon=True,
        )  # fmt: skip
        self._sender.start()
        self._kept: OrderedDict[int, None] = OrderedDict()  # the laws the child keeps (mirrored)
        self._rng: np.random.Generator | None = None
        self._collected = False
        self._send(("init", FlowSink(scn, n_steps, path), laws_kept))

    # ------------------------------------------------------------------ streaming
    def add_ended(self, segments: Sequence[Segment], rng: np.random.Generator) -> None:
        if not segments:
            return
        if self._rng is None:
            self._rng = rng
            self._send(("rng", rng))
        elif rng is not self._rng:
            raise ValueError("a FlowSinkProcess draws from the one stream it was first given")
        new: dict[int, LawRecord] = {}
        kept = self._kept
        rows = []
        for step, t0, dt, law in segments:
            i = law.law_id
            if i in kept:
                kept.move_to_end(i)
            else:
                new[i] = law
                kept[i] = None
                if len(kept) > self._laws_kept:
                    kept.popitem(last=False)
            rows.append((step, t0, dt, i))
        self._send(("add", rows, new))

    def flush(self) -> None:
        if not self._collected:
            self._send(("flush",))

    # ------------------------------------------------------------------ end
    def collect(self) -> None:
        if self._collected:
            return
        self._send(("finish",))
        try:
            self._sent()
        except RuntimeError:
            self._collected = True
            kind, got = self._receive()  # the child's own error, if it said one
            self._wait()
            raise RuntimeError(f"the flow records' process failed:\n{got}") from None
        kind, got = self._receive()
        self._collected = True
        self._wait()
        if kind != "ok":
            raise RuntimeError(f"the flow records' process failed:\n{got}")
        assert isinstance(got, FlowSink)
        for name in _STATE:
            setattr(self, name, getattr(got, name))

    def close(self) -> pa.Table:
        self.collect()
        if self.path is None:
            return pa.Table.from_batches(self.batches, schema=FLOW_SCHEMA)
        return pa.Table.from_batches([], schema=FLOW_SCHEMA)

    def abort(self) -> None:
        if not self._collected:
            self._collected = True
            with suppress(OSError, RuntimeError):  # a child already gone needs no telling
                self._send(("abort",))
                self._sent()
            self._wait()

    # ------------------------------------------------------------------ pipe
    def _send(self, msg: tuple[Any, ...]) -> None:
        """Queue ``msg`` for the child (never handed back: the caller must not change it)."""
        if self._pipe_errors:
            raise RuntimeError("the flow records' process stopped") from self._pipe_errors[0]
        self._outbox.put(msg)

    def _sent(self) -> None:
        """Wait until every queued message is down the pipe (or the pipe failed)."""
        self._outbox.put(None)
        self._sender.join()
        if self._pipe_errors:
            raise RuntimeError("the flow records' process stopped") from self._pipe_errors[0]

    def _receive(self) -> tuple[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        try:
            kind, got = pickle.load(proc.stdout)
        except EOFError:
            return "error", "it exited without an answer"
        return str(kind), got

    def _wait(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            self._finalizer.detach()
            _stop(proc)


# what collect() takes over from the child's sink
_STATE = ("stats", "requests_cs", "rejected_cs", "batches", "rows", "_hist_mass", "_laws")


def _pump(
    outbox: queue.SimpleQueue[tuple[Any, ...] | None], pipe: IO[bytes], errors: list[BaseException]
) -> None:
    """The sender thread: pickle each queued message down ``pipe`` until ``None``; the first
    error (the child gone, the pipe closed) ends it, kept in ``errors`` for the sink to raise."""
    while (msg := outbox.get()) is not None:
        try:
            pickle.dump(msg, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            pipe.flush()
        except BaseException as e:
            errors.append(e)
            return


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Close the child's input (it ends on EOF) and wait for it; kill it if it hangs."""
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The child's loop: a :class:`FlowSink` fed by the parent's messages until ``finish``,
    ``abort`` or the end of its input. The first error is kept and answered at ``finish``."""
    sink: FlowSink | None = None
    rng: np.random.Generator | None = None
    laws: OrderedDict[int, LawRecord] = OrderedDict()
    laws_kept = LAWS_KEPT
    error: str | None = None
    while True:
        try:
            msg = pickle.load(inp)
        except EOFError:  # the parent is gone
            if sink is not None:
                sink.abort()
            return
        kind = msg[0]
        if kind == "abort":
            if sink is not None:
                sink.abort()
            return
        if kind == "finish":
            if error is None and sink is not None:
                try:
                    sink.flush()
                    sink.fold_histograms()
                    sink.close()
                except BaseException:
                    error = traceback.format_exc()
            if error is None and sink is not None:
                sink._writer = None
                reply: tuple[str, Any] = ("ok", sink)
            else:
                reply = ("error", error or "no sink")
            pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            return
        if error is not None:
            continue  # keep reading until finish: the parent hears of it there
        try:
            if kind == "init":
                _, sink, laws_kept = msg
            elif kind == "rng":
                rng = msg[1]
            elif kind == "add":
                _, rows, new = msg
                segs: list[Segment] = []
                for step, t0, dt, i in rows:  # the parent's bookkeeping, step for step
                    law = laws.get(i)
                    if law is None:
                        law = laws[i] = new[i]
                        if len(laws) > laws_kept:
                            laws.popitem(last=False)
                    else:
                        laws.move_to_end(i)
                    segs.append((step, t0, dt, law))
                assert sink is not None and rng is not None
                sink.add_ended(segs, rng)
            elif kind == "flush":
                assert sink is not None
                sink.flush()
            else:
                raise ValueError(f"unknown message {kind!r}")
        except BaseException:
            error = traceback.format_exc()
