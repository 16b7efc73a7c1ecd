"""Sessions converted by worker processes, their parts handed back one by one in file order.

Workers are forked when this process has no other thread (the command line), else started by a
fork server (or spawned where there is none); they only read logs and return each session's
part, and the parent writes. Each
worker has its own response chains over every file of the run, so a parent response in a file
another worker handles is re-read from disk: a child gets the same history with any number of
workers.

Each worker has its own pipe, and the parent hands the next session to whichever worker is free,
so a long session holds up no other worker. At most `WINDOW` sessions per worker
are in flight or done and waiting for an earlier one, so memory stays bounded by a few sessions'
parts, not by the logs.

This is a pool of our own rather than `concurrent.futures.ProcessPoolExecutor`: stopping the
executor's workers in the middle of a session (Ctrl-C) can leave its result thread reading half a
message forever, and its shutdown then waits on that thread (seen on Python 3.11, about once in
60 interrupted runs). Here the parent holds no threads: stopping is terminating the processes and
closing the pipes. Workers ignore SIGINT: Ctrl-C reaches the parent, which terminates them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import traceback
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from ..logs.tree import SessionFile
from .session import Options, SessionConverter, SessionPart

WINDOW = 4  # sessions per worker in flight or done and waiting for an earlier one to be merged
QUEUED = 1  # sessions handed to one worker at a time: the next goes to whichever is free
STOP_SECONDS = 5.0  # how long a terminated worker has to exit before it is killed


class WorkerError(Exception):
    """A worker process died (killed, out of memory) before it handed back its session."""


class WorkerFailure(Exception):
    """The traceback of an exception raised in a worker, chained to the one re-raised here."""


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
    pool = _Pool(jobs, options, chain_paths)
    try:
        yield from pool.parts(files)
    except BaseException:  # Ctrl-C, a write that failed, a generator closed early, a dead worker
        pool.stop(finished=False)
        raise
    pool.stop(finished=True)


class _Worker:
    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self.process = process
        self.connection = connection
        self.queued: deque[int] = deque()  # indexes of the sessions handed to it, in order


class _Pool:
    def __init__(self, jobs: int, options: Options, chain_paths: list[str]) -> None:
        method = _start_method()
        context: Any = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload([__name__])
        self.workers: list[_Worker] = []
        # A forked worker ignores SIGINT from its first instruction: it is blocked across the
        # fork and delivered, if it came, to this process only once the workers are started.
        masked = method == "fork" and hasattr(signal, "pthread_sigmask")
        if masked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for _ in range(jobs):
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=_serve, args=(theirs, options, chain_paths, masked), daemon=True
                )
                self.workers.append(_Worker(process, ours))
                process.start()
                theirs.close()
        finally:
            if masked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def parts(self, files: list[SessionFile]) -> Iterator[SessionPart]:
        done: dict[int, SessionPart] = {}
        sent = 0
        limit = WINDOW * len(self.workers)
        for wanted in range(len(files)):
            while wanted not in done:
                while sent < len(files) and sent - wanted < limit:
                    worker = min(self.workers, key=lambda w: len(w.queued))
                    if len(worker.queued) >= QUEUED:
                        break
                    try:
                        worker.connection.send(files[sent])
                    except OSError as exc:  # its end of the pipe is closed: it died
                        raise WorkerError("a worker process died") from exc
                    worker.queued.append(sent)
                    sent += 1
                self._receive(done)
            yield done.pop(wanted)

    def _receive(self, done: dict[int, SessionPart]) -> None:
        """Wait for at least one part; raises WorkerError when a worker died."""
        busy: dict[object, _Worker] = {w.connection: w for w in self.workers if w.queued}
        exited = [w.process.sentinel for w in self.workers]
        for ready in wait([*busy, *exited]):
            worker = busy.get(ready)
            if worker is None:
                raise WorkerError("a worker process died")
            try:
                failed, value = worker.connection.recv()
            except (EOFError, OSError) as exc:
                raise WorkerError("a worker process died") from exc
            index = worker.queued.popleft()
            if failed:
                error, trace = value
                raise error from WorkerFailure(trace)
            done[index] = value

    def stop(self, finished: bool) -> None:
        """End the workers: told to exit when every part is in, else terminated at once, their
        current sessions dropped. Waits for them, killing any that outlive `STOP_SECONDS`."""
        for worker in self.workers:
            if finished:
                try:
                    worker.connection.send(None)
                except OSError:
                    worker.process.terminate()
            else:
                worker.process.terminate()
        for worker in self.workers:
            worker.process.join(STOP_SECONDS)
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
            worker.connection.close()


def _start_method() -> str:
    """`fork` when this process runs no other thread (the command line), which starts workers in
    milliseconds with the logs' index shared; else `forkserver`, as forking a process with
    threads can deadlock the child; `spawn` where neither exists."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _serve(connection: Connection, options: Options, chain_paths: list[str], masked: bool) -> None:
    """A worker: convert each session the parent sends, until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if masked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    converter = SessionConverter(options, chain_paths)
    while True:
        try:
            session = connection.recv()
        except EOFError:  # the parent is gone
            return
        if session is None:
            return
        try:
            reply: tuple[bool, Any] = (False, converter.convert(session))
        except Exception as exc:  # handed to the parent, which raises it
            reply = (True, (exc, traceback.format_exc()))
        try:
            connection.send(reply)  # pickled whole before a byte is written
        except OSError:  # the parent is gone
            return
        except Exception as exc:  # the worker's exception would not pickle
            connection.send((True, (RuntimeError(repr(exc)), traceback.format_exc())))
