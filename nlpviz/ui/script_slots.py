"""At most N page runs compute at once in a server process; the others wait their turn.

Python runs one thread at a time (the GIL). When twenty visitors' page runs share it, every run
advances at a twentieth of the speed and they all finish together, last; switching between
them also costs: a view that takes about 90 ms of server CPU alone took about 150 ms with twenty
at once (``benchmarks/bench_load.py``). With one run at a time the first visitors get their view
at once and the twentieth no later than before: in the load test the median time to a view at
twenty sessions fell from 2.7 s to 1.2 s, and the slowest from 2.8 s to 2.0 s.

Streamlit has no setting for this, so the script runner's run method is wrapped (Streamlit is
pinned in requirements.txt; :func:`install` checks the method it wraps is there). Heavy work that
runs for seconds or minutes (``nlpviz.ui.heavy``) gives its slot back while it waits and runs, so
it never holds up the light page runs of other visitors. ``NLPVIZ_CONCURRENT_RUNS`` sets N
(default 1; 0 turns the limit off).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

ENV = "NLPVIZ_CONCURRENT_RUNS"
DEFAULT_RUNS = 1

_state = threading.local()  # .slots: the semaphore whose slot this thread's run holds now
_slots: threading.BoundedSemaphore | None = None
_install_lock = threading.Lock()


def _slot_count() -> int:
    raw = os.environ.get(ENV, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_RUNS
    except ValueError:
        log.warning("%s=%r is not a number; using %d", ENV, raw, DEFAULT_RUNS)
        return DEFAULT_RUNS


def limit_runs(runner_class: type, slots: threading.BoundedSemaphore) -> None:
    """Wrap ``runner_class._run_script`` so that a run first takes one of ``slots``."""
    original = runner_class._run_script

    def run_in_slot(self, rerun_data) -> None:
        with slots:
            _state.slots = slots
            try:
                return original(self, rerun_data)
            finally:
                _state.slots = None

    run_in_slot.__wrapped__ = original  # type: ignore[attr-defined]
    runner_class._run_script = run_in_slot


def install() -> int:
    """Limit this server process to N concurrent page runs (once); returns N (0: no limit)."""
    global _slots
    count = _slot_count()
    if count == 0:
        return 0
    with _install_lock:
        if _slots is not None:
            return count
        from streamlit.runtime.scriptrunner import script_runner

        runner = getattr(script_runner, "ScriptRunner", None)
        if runner is None or not callable(getattr(runner, "_run_script", None)):
            log.warning("this Streamlit has no ScriptRunner._run_script; runs are not limited")
            return 0
        _slots = threading.BoundedSemaphore(count)
        limit_runs(runner, _slots)
    return count


@contextmanager
def slot_released() -> Iterator[None]:
    """Give this run's slot to others while the body runs (long waits, heavy jobs)."""
    slots = getattr(_state, "slots", None)
    if slots is None:
        yield
        return
    slots.release()
    _state.slots = None
    try:
        yield
    finally:
        slots.acquire()
        _state.slots = slots
