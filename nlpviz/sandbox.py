"""Run untrusted parsing in a child process with hard limits: wall clock, CPU, memory, temp files.

A visitor's upload (a MIDI or MusicXML file, a CoNLL file) is parsed by libraries that were never
meant to face hostile input: a 36-byte MIDI file can keep music21 busy for most of a minute and a
358-byte MusicXML file can ask numpy for gigabytes. In the server process that would stall every
visitor and keep the memory. So such work runs in a child process:

* started with ``subprocess`` (``python -m nlpviz.sandbox FOLDER``), never forked from the
  threaded server; it lowers its own priority, caps its address space (``RLIMIT_AS``) and CPU
  time (``RLIMIT_CPU``) before it imports anything heavy;
* in a private temporary folder that is its working directory and ``TMPDIR`` (music21 writes its
  cache under the temporary directory), removed when the work ends, whatever the outcome;
* waited for in short polls: the caller's ``poll`` callback runs between them (a page draws
  "reading your file..." there, which is also where Streamlit stops a script whose visitor left
  or pressed Stop), and ``finally`` kills the child;
* at most :data:`MAX_WORKERS` children at once per server process (others wait their turn), so
  forty uploads at once cannot take forty times the memory cap.

The function to run must be a module-level function (it is imported by name in the child); its
arguments and result must pickle. The pickles only travel between this process and its own child.
Exceptions the function raises come back and are raised again here (a format's user-facing
error stays itself); running out of time or memory raises :class:`SandboxTimeout` or
:class:`SandboxMemory`, which name the limit.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlpviz import settings

log = logging.getLogger(__name__)

MAX_WORKERS = 2
"""Children running at once in one server process (the rest wait, polling like the run)."""
POLL_SECONDS = 0.2
_REQUEST = "request.pickle"
_RESULT = "result.pickle"
_LOG = "child.log"
MAX_RESULT_BYTES = 64 * 1024 * 1024
_workers = threading.BoundedSemaphore(MAX_WORKERS)


@dataclass(frozen=True)
class Limits:
    """Hard limits for one child: wall-clock seconds, address space in MB, CPU seconds."""

    seconds: float = 20.0
    memory_mb: int = 1536
    cpu_seconds: int | None = None  # None: the wall-clock limit, rounded up, plus one

    @property
    def cpu(self) -> int:
        if self.cpu_seconds is not None:
            return int(self.cpu_seconds)
        return int(self.seconds) + 2


class SandboxError(RuntimeError):
    """The child did not return a result; the message is meant for the user."""


class SandboxTimeout(SandboxError):
    """The child ran past its wall-clock (or CPU) limit and was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the work took longer than {seconds:g} s, the limit on this server")
        self.seconds = seconds


class SandboxMemory(SandboxError):
    """The child asked for more memory than its cap."""

    def __init__(self, memory_mb: int) -> None:
        super().__init__(f"the work needed more than {memory_mb:,} MB of memory, the limit")
        self.memory_mb = memory_mb


class SandboxCrashed(SandboxError):
    """The child ended without a result (a crash, a signal, an unpicklable error)."""


def _child_env(folder: Path) -> dict[str, str]:
    from nlpviz import REPO_ROOT

    parent = settings.process_environment()
    env = {
        key: value
        for key, value in parent.items()
        if key in ("PATH", "LANG", "LC_ALL", "HOME", "VIRTUAL_ENV", settings.CACHE.name)
    }
    path = [str(REPO_ROOT)] + [p for p in parent.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update(
        PYTHONPATH=os.pathsep.join(path),
        TMPDIR=str(folder),
        TEMP=str(folder),
        TMP=str(folder),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


def run_isolated(
    func: Callable[..., Any],
    *args: Any,
    limits: Limits | None = None,
    poll: Callable[[float], None] | None = None,
    **kwargs: Any,
) -> Any:
    """``func(*args, **kwargs)`` in a child process under ``limits``; its result or its error.

    ``poll(elapsed_seconds)`` is called about every :data:`POLL_SECONDS` while the caller waits
    for a worker or for the result; whatever it raises (Streamlit's stop or rerun) ends the wait,
    and the child is killed.

    Raises:
        SandboxTimeout: past ``limits.seconds`` (wall clock, waiting for a worker not counted)
            or ``limits.cpu`` seconds of CPU.
        SandboxMemory: the child ran out of its address-space cap.
        SandboxCrashed: no result for another reason.
        Exception: whatever ``func`` raised (when it pickles).
    """
    limits = limits or Limits()
    module, name = func.__module__, func.__qualname__
    if module == "__main__" or "<" in name:
        raise ValueError(f"{name} must be a module-level function to run in a child process")
    started = time.monotonic()
    while not _workers.acquire(timeout=POLL_SECONDS):
        if poll is not None:
            poll(time.monotonic() - started)
    try:
        return _run(module, name, args, kwargs, limits, poll, started)
    finally:
        _workers.release()


def _run(module, name, args, kwargs, limits, poll, started) -> Any:
    folder = Path(tempfile.mkdtemp(prefix="nlpviz-sandbox-"))
    process: subprocess.Popen | None = None
    try:
        request = {"module": module, "name": name, "args": args, "kwargs": kwargs}
        request["memory_mb"], request["cpu"] = limits.memory_mb, limits.cpu
        (folder / _REQUEST).write_bytes(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        with open(folder / _LOG, "wb") as child_log:
            process = subprocess.Popen(
                [sys.executable, "-m", "nlpviz.sandbox", str(folder)],
                cwd=folder,
                env=_child_env(folder),
                stdin=subprocess.DEVNULL,
                stdout=child_log,
                stderr=child_log,
                start_new_session=True,
                close_fds=True,
            )
        launched = time.monotonic()
        while True:
            try:
                process.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - launched > limits.seconds:
                raise SandboxTimeout(limits.seconds)
            if poll is not None:
                poll(time.monotonic() - started)
        return _outcome(process.returncode, folder, limits)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _outcome(returncode: int, folder: Path, limits: Limits) -> Any:
    result = folder / _RESULT
    if result.is_file() and result.stat().st_size <= MAX_RESULT_BYTES:
        try:
            kind, value = pickle.loads(result.read_bytes())
        except Exception as error:  # noqa: BLE001 - a half-written result
            raise SandboxCrashed(f"the worker's result could not be read ({error})") from None
        if kind == "ok":
            return value
        if kind == "memory":
            raise SandboxMemory(limits.memory_mb)
        if isinstance(value, BaseException):
            raise value
        raise SandboxCrashed(str(value))
    import signal

    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise SandboxTimeout(limits.seconds)
    tail = (
        (folder / _LOG).read_bytes()[-2000:].decode("utf-8", "replace")
        if (folder / _LOG).is_file()
        else ""
    )
    if "MemoryError" in tail:
        raise SandboxMemory(limits.memory_mb)
    log.warning("sandbox worker ended with %s and no result: %s", returncode, tail[-500:])
    raise SandboxCrashed(f"the worker ended without a result (exit status {returncode})")


# ---- the child --------------------------------------------------------------------------------


def _limit_self(memory_mb: int, cpu: int) -> None:
    import resource

    os.nice(10)
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    files = 256 * 1024 * 1024  # no file the work writes may pass this size
    resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))


def _child_main(folder: Path) -> int:
    request = pickle.loads((folder / _REQUEST).read_bytes())
    _limit_self(int(request["memory_mb"]), int(request["cpu"]))
    tempfile.tempdir = str(folder)

    def answer(kind: str, value: Any) -> None:
        try:
            data = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 - an unpicklable error
            data = pickle.dumps(("error", f"{type(value).__name__}: {value} ({error})"))
        (folder / (_RESULT + ".part")).write_bytes(data)
        os.replace(folder / (_RESULT + ".part"), folder / _RESULT)

    try:
        func = importlib.import_module(request["module"])
        for part in request["name"].split("."):
            func = getattr(func, part)
        value = func(*request["args"], **request["kwargs"])
    except MemoryError:
        answer("memory", None)
        return 0
    except Exception as error:  # noqa: BLE001 - sent back to the caller, raised there
        answer("error", error)
        return 0
    answer("ok", value)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(Path(sys.argv[1])))
