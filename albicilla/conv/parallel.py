"""Sessions converted by worker processes, their parts handed back one by one in file order.

Workers are started with `forkserver` (or `spawn` where there is none), so they inherit no open
output file; they only read logs and return each session's part, and the parent writes. Each
worker has its own response chains over every file of the run, so a parent response in a file
another worker handles is re-read from disk: a child gets the same history with any number of
workers. At most `WINDOW` sessions per worker are in flight, so memory stays bounded by a few
sessions' parts, not by the logs. Workers ignore SIGINT: Ctrl-C reaches the parent, which
terminates them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice

from .reader import SessionFile
from .session import Options, SessionConverter, SessionPart

WINDOW = 4  # sessions per worker in flight or done and waiting for an earlier one to be merged

_converter: SessionConverter | None = None  # a worker's own, set by `_start_worker`


class WorkerError(Exception):
    """A worker process died (killed, out of memory) before it handed back its session."""


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def session_parts(
    files: list[SessionFile], options: Options, chain_paths: list[str]
) -> Iterator[SessionPart]:
    """Each session's part, in the order of `files`: in this process when `options.jobs` is 1
    (or there is one file), else in `options.jobs` worker processes."""
    jobs = min(options.jobs, len(files))
    if jobs <= 1:
        converter = SessionConverter(options, chain_paths)
        for session in files:
            yield converter.convert(session)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        context.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(jobs, context, _start_worker, (options, chain_paths))
    try:
        pending = iter(files)
        window: deque[Future[SessionPart]] = deque(
            pool.submit(_convert, session) for session in islice(pending, WINDOW * jobs)
        )
        while window:
            part = window.popleft().result()
            for session in islice(pending, 1):
                window.append(pool.submit(_convert, session))
            yield part
    except BrokenProcessPool as exc:  # from `result` or `submit`, whichever comes first
        _stop(pool)
        raise WorkerError("a worker process died") from exc
    except BaseException:  # Ctrl-C, a write that failed, a generator closed early
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now, their current session dropped."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
    else:
        # Before 3.14 shutdown() waits for running tasks; a long session would hold up Ctrl-C.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(options: Options, chain_paths: list[str]) -> None:
    global _converter
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _converter = SessionConverter(options, chain_paths)


def _convert(session: SessionFile) -> SessionPart:
    assert _converter is not None, "_start_worker runs first in every worker"
    return _converter.convert(session)
