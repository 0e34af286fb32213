"""The server's line for heavy work: one job at a time, first come first served."""

from __future__ import annotations

import threading
import time

from streamlit.testing.v1 import AppTest

from nlpviz import heavy
from nlpviz.heavy import HeavyLine


def test_line_runs_one_job_in_arrival_order() -> None:
    line = HeavyLine()
    a, b, c = (line.join(o, "job") for o in "abc")
    assert [line.position(t) for t in (a, b, c)] == [0, 1, 2]
    assert line.running() == a and line.waiting() == 2
    assert line.wait_turn(a, 0.01) and not line.wait_turn(b, 0.01)
    line.leave(b)  # gave up waiting: c moves up, a still runs
    assert line.position(b) is None and line.position(c) == 1
    line.leave(a)
    line.leave(a)  # twice is harmless
    assert line.running() == c and line.wait_turn(c, 0.01)


def test_try_start_now_refuses_while_anyone_runs_or_waits() -> None:
    line = HeavyLine()
    first = line.try_start_now("a", "sweep")
    assert first is not None
    assert line.try_start_now("b", "sweep") is None
    line.leave(first)
    assert line.try_start_now("b", "sweep") is not None


def test_a_waiting_thread_starts_when_the_running_one_leaves() -> None:
    line = HeavyLine()
    order: list[str] = []
    first = line.join("a", "job")
    second = line.join("b", "job")

    def wait_then_run() -> None:
        assert line.wait_turn(second, 5.0)
        order.append("b")
        line.leave(second)

    waiter = threading.Thread(target=wait_then_run)
    waiter.start()
    time.sleep(0.1)
    assert order == []  # still waiting behind a
    order.append("a")
    line.leave(first)
    waiter.join(5.0)
    assert order == ["a", "b"] and line.running() is None


def test_owner_setting_turns_heavy_work_off(monkeypatch) -> None:
    monkeypatch.delenv(heavy.DISABLE_ENV, raising=False)
    monkeypatch.delenv(heavy.LEGACY_DISABLE_ENV, raising=False)
    assert not heavy.heavy_work_disabled()
    for value, off in (("1", True), ("yes", True), ("0", False), ("off", False)):
        monkeypatch.setenv(heavy.DISABLE_ENV, value)
        assert heavy.heavy_work_disabled() is off
    monkeypatch.delenv(heavy.DISABLE_ENV)
    monkeypatch.setenv(heavy.LEGACY_DISABLE_ENV, "1")
    assert heavy.heavy_work_disabled()


def _page_waiting_in_line() -> None:
    import streamlit as st

    from nlpviz.heavy import HEAVY_LINE
    from nlpviz.ui.heavy import heavy_turn

    with heavy_turn("a test job") as allowed:
        running = HEAVY_LINE.running()
        st.write(f"ran: {allowed}, running now: {running.label if running else None}")


def test_page_shows_its_place_then_runs_when_the_slot_frees(monkeypatch) -> None:
    monkeypatch.delenv(heavy.DISABLE_ENV, raising=False)
    monkeypatch.delenv(heavy.LEGACY_DISABLE_ENV, raising=False)
    holder = heavy.HEAVY_LINE.join("another visitor", "a data-set attribution")
    release = threading.Timer(1.5, heavy.HEAVY_LINE.leave, args=(holder,))
    release.start()
    try:
        at = AppTest.from_function(_page_waiting_in_line).run(timeout=30)
    finally:
        release.cancel()
        heavy.HEAVY_LINE.leave(holder)
    assert not at.exception
    assert "ran: True, running now: a test job" in [m.value for m in at.markdown]
    assert heavy.HEAVY_LINE.running() is None  # the page left the line


def test_page_says_when_heavy_work_is_off(monkeypatch) -> None:
    monkeypatch.setenv(heavy.DISABLE_ENV, "1")
    at = AppTest.from_function(_page_waiting_in_line).run(timeout=30)
    assert not at.exception
    assert "ran: False, running now: None" in [m.value for m in at.markdown]
    assert any(heavy.DISABLE_ENV in i.value for i in at.info)


def test_page_runs_take_turns_and_heavy_work_gives_its_turn_back() -> None:
    """Page runs through a limited runner never overlap; a run inside ``slot_released`` lets
    another in (the oracle: the most runs seen inside at once)."""
    from nlpviz.ui import script_slots

    inside, most, guard = [0], [0], threading.Lock()

    class Runner:
        def _run_script(self, rerun_data) -> None:
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            if rerun_data == "heavy":
                with script_slots.slot_released():
                    time.sleep(0.3)  # a long job: others must run meanwhile
            with guard:
                inside[0] -= 1

    script_slots.limit_runs(Runner, threading.BoundedSemaphore(1))
    light = [threading.Thread(target=Runner()._run_script, args=("light",)) for _ in range(4)]
    for thread in light:
        thread.start()
    for thread in light:
        thread.join(5)
    assert most[0] == 1  # four light runs, one at a time

    most[0] = 0
    heavy = threading.Thread(target=Runner()._run_script, args=("heavy",))
    heavy.start()
    time.sleep(0.1)  # the heavy run has given its slot back
    started = time.perf_counter()
    Runner()._run_script("light")
    assert time.perf_counter() - started < 0.25  # it did not wait for the heavy job to end
    heavy.join(5)
    assert most[0] == 2


def test_the_run_limit_is_a_server_setting(monkeypatch) -> None:
    from nlpviz.ui import script_slots

    monkeypatch.setenv(script_slots.ENV, "3")
    assert script_slots._slot_count() == 3
    monkeypatch.setenv(script_slots.ENV, "0")
    assert script_slots.install() == 0  # no limit: nothing wrapped
    monkeypatch.setenv(script_slots.ENV, "many")
    assert script_slots._slot_count() == script_slots.DEFAULT_RUNS
