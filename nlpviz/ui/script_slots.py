"""At most N page runs compute at once in a server process; the others wait their turn.

Python runs one thread at a time (the GIL). When twenty visitors' page runs share it, every run
advances at a twentieth of the speed and they all finish together, last; switching between
them also costs: a view that takes about 90 ms of server CPU alone took about 150 ms with twenty
at once (``benchmarks/bench_load.py``). With one run at a time the first visitors get their view
at once and the twentieth no later than before: in the load test the median time to a view at
twenty sessions fell from 2.7 s to 1.2 s, and the slowest from 2.8 s to 2.0 s.

Streamlit has no setting for this, so the script runner's run method is wrapped (Streamlit is
pinned in pyproject.toml; :func:`install` checks the signature of the method it wraps and
leaves it alone, with a warning, when it is not the expected one). Heavy work that
runs for seconds or minutes (``nlpviz.ui.heavy``) gives its slot back while it waits and runs, so
it never holds up the light page runs of other visitors, and so does a run that waits for a
shared model's lock (:func:`model_lock_released_slot`). ``NLPVIZ_CONCURRENT_RUNS`` sets N
(default 1; 0 turns the limit off).
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from nlpviz import settings

log = logging.getLogger(__name__)

ENV = settings.CONCURRENT_RUNS.name
DEFAULT_RUNS = int(settings.CONCURRENT_RUNS.default)

_state = threading.local()  # .slots: the semaphore whose slot this thread's run holds now
_slots: threading.BoundedSemaphore | None = None
_install_lock = threading.Lock()


def _slot_count() -> int:
    return settings.concurrent_runs()


EXPECTED_PARAMETERS = ("self", "rerun_data")
"""The parameters of ``ScriptRunner._run_script`` in the pinned Streamlit (checked at install)."""


def signature_ok(method: object) -> bool:
    """True when ``method`` looks like the ``_run_script(self, rerun_data)`` this module wraps."""
    if not callable(method):
        return False
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return tuple(parameters) == EXPECTED_PARAMETERS


def limit_runs(runner_class: type, slots: threading.BoundedSemaphore) -> None:
    """Wrap ``runner_class._run_script`` so that a run first takes one of ``slots``.

    The wrapper passes ``*args, **kwargs`` through untouched, and releases the slot at the end
    only if the run still holds it (:func:`model_lock_released_slot` may have left it).
    """
    original = runner_class._run_script

    @functools.wraps(original)
    def run_in_slot(self, *args, **kwargs):
        slots.acquire()
        _state.slots = slots
        try:
            return original(self, *args, **kwargs)
        finally:
            held, _state.slots = getattr(_state, "slots", None), None
            if held is not None:
                held.release()

    run_in_slot.__wrapped__ = original  # type: ignore[attr-defined]
    run_in_slot._nlpviz_slots = slots  # type: ignore[attr-defined]
    runner_class._run_script = run_in_slot


def install() -> int:
    """Limit this server process to N concurrent page runs (once); returns N (0: no limit).

    The method it wraps is checked first (:func:`signature_ok`): a Streamlit whose
    ``ScriptRunner._run_script`` is missing or takes other parameters is left alone, with a
    warning in the log, rather than wrapped blindly.
    """
    global _slots
    count = _slot_count()
    if count == 0:
        return 0
    with _install_lock:
        if _slots is not None:
            return count
        from streamlit.runtime.scriptrunner import script_runner

        runner = getattr(script_runner, "ScriptRunner", None)
        method = getattr(runner, "_run_script", None)
        if runner is None or not signature_ok(method):
            log.warning(
                "this Streamlit's ScriptRunner._run_script is missing or is not "
                "_run_script(self, rerun_data) (found %s); page runs are not limited",
                _describe(method),
            )
            return 0
        _slots = threading.BoundedSemaphore(count)
        limit_runs(runner, _slots)
    return count


def _describe(method: object) -> str:
    try:
        return f"_run_script{inspect.signature(method)}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(method)


@contextmanager
def slot_released() -> Iterator[None]:
    """Give this run's slot to others while the body runs (long waits, heavy jobs).

    Use it in page code only, never inside an ``st.cache_*`` function: taking the slot back
    blocks, and a cached function holds Streamlit's per-key lock that a slot holder may be
    waiting for (see :func:`model_lock_released_slot`, which is safe there).
    """
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


RETAKE_SECONDS = 0.5
"""How long a run that waited for a model lock waits to take its slot back before going on
without it (see :func:`model_lock_released_slot`)."""


@contextmanager
def model_lock_released_slot(lock: threading.Lock) -> Iterator[None]:
    """Hold a shared model's ``lock`` for the body, never waiting for it while holding a slot.

    The lock free (the usual case): taken at once, nothing else changes. The lock busy (a
    data-set attribution holds it for minutes): the slot goes to other visitors, this run waits
    for the lock, then takes the slot back if it is free within :data:`RETAKE_SECONDS`;
    otherwise the run goes on without a slot (one more run computes for a moment) and the run
    wrapper does not release a slot it does not hold.

    Why no deadlock: (1) no thread waits for a model lock while it holds a slot (it only tries
    the lock without waiting, else releases the slot first); (2) no thread waits without a
    bound for a slot while it holds a model lock. So neither slot -> lock -> slot nor a cycle
    through Streamlit's per-key cache lock (a cached function may hold it while it waits for
    the model lock here, and a slot holder may wait for that cache lock) can close: the only
    unbounded waits are for the model lock, made without a slot, and for the cache lock, whose
    holder never waits without a bound for the slot.
    """
    if lock.acquire(blocking=False):
        try:
            yield
        finally:
            lock.release()
        return
    slots = getattr(_state, "slots", None)
    if slots is not None:
        slots.release()
        _state.slots = None
    lock.acquire()
    try:
        if slots is not None and slots.acquire(timeout=RETAKE_SECONDS):
            _state.slots = slots
        yield
    finally:
        lock.release()
