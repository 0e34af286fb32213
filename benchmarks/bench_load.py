"""Load test: many students opening the app at once, as in a classroom.

Starts the app as a user would (``streamlit run app.py``, loopback only) and ramps the number of
concurrent sessions N = 1, 10, 20, 40. Each session is a real client speaking the browser's
websocket protocol (``tests/streamlit_ws.py``): it opens the Kim CNN, HAN or attention page (in
turn) with its own text in the URL and waits until the page's script run has finished, that is,
until every figure of the view has been sent. Sessions stay connected until the whole stage is
done (students keep their tabs open), and the server's resident memory is read then.

Reported: p50 / p95 time to a finished view, errors (an exception on the page, a failed or
timed-out run), the server's memory at each N, and the growth per extra session.
Targets (2-core CPU): 20 sessions p95 <= 2 s with zero errors; 40 sessions zero errors;
memory growth <= 30 MB per extra session. Bounded: at most 40 sessions, each stage at most
``--stage-timeout`` seconds; the server is stopped at the end whatever happens.

    .venv/bin/python benchmarks/bench_load.py [--stages 1 10 20 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from app_server import running_app  # noqa: E402
from streamlit_ws import PageVisit, visit_many, visit_page  # noqa: E402

MAX_SESSIONS = 40
WORDS = (
    "river garden winter doctor music money teacher village ocean market mountain letter "
    "window summer engine island forest kitchen station picture"
).split()
PAGES = {
    "Kim_CNN": lambda i: {"text": f"the {_word(i)} scene is gripping and moving ({i})"},
    "HAN": lambda i: {
        "text": f"The {_word(i)} report came out today. Officials said {i} people were fine."
    },
    "Attention": lambda i: {"text": f"The {_word(i)} number {i} smiled at the crowd."},
}


def _word(i: int) -> str:
    return WORDS[i % len(WORDS)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run_stage(server, n: int, first_id: int, timeout: float) -> tuple[list[PageVisit], int]:
    """N sessions at once, held open until every one has finished; returns the RSS then."""
    pages = list(PAGES)
    visits = []
    for k in range(n):
        page = pages[k % len(pages)]
        visits.append((page, PAGES[page](first_id + k)))
    hold, all_finished = asyncio.Event(), asyncio.Event()
    finished = 0

    def count(_: PageVisit) -> None:
        nonlocal finished
        finished += 1
        if finished == n:
            all_finished.set()

    task = asyncio.create_task(
        visit_many(
            server.host, server.port, visits, timeout, hold=hold, on_finished=count, light=True
        )
    )
    try:
        await asyncio.wait_for(all_finished.wait(), timeout=timeout + 30)
        rss = server.rss_bytes()
    finally:
        hold.set()
    return await task, rss


def warm_up(server, timeout: float) -> dict[str, float]:
    """One visit per page first: the first load imports torch and reads the checkpoints."""
    seconds = {}
    for page, make_query in PAGES.items():
        visit = asyncio.run(visit_page(server.host, server.port, page, make_query(0), timeout))
        if not visit.ok:
            raise RuntimeError(f"warm-up of {page} failed: {visit.error or visit.exceptions}")
        seconds[page] = visit.seconds
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", type=int, nargs="+", default=[1, 10, 20, 40])
    parser.add_argument("--stage-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    stages = [min(max(1, n), MAX_SESSIONS) for n in args.stages]
    log = Path(tempfile.mkdtemp(prefix="nlpviz-load-")) / "server.log"
    print(f"server log: {log}")
    rows, failures = [], []
    started = time.perf_counter()
    with running_app(log) as server:
        base_rss = server.rss_bytes()
        cold = warm_up(server, args.stage_timeout)
        print("cold first views: " + ", ".join(f"{p} {s:.1f} s" for p, s in cold.items()))
        first_id = 1
        for n in stages:
            cpu_before = server.cpu_seconds()
            visits, rss = asyncio.run(run_stage(server, n, first_id, args.stage_timeout))
            cpu_per_view = (server.cpu_seconds() - cpu_before) / n
            first_id += n
            times = [v.seconds for v in visits if v.ok]
            errors = [v for v in visits if not v.ok]
            failures += [f"N={n} {v.page}: {v.error or v.exceptions}" for v in errors]
            rows.append((n, times, len(errors), rss, cpu_per_view))
            print(
                f"N={n:3d}: p50 {percentile(times, 50):.2f} s, p95 {percentile(times, 95):.2f} s, "
                f"errors {len(errors)}, server RSS {rss / 2**20:.0f} MB, "
                f"server CPU {cpu_per_view * 1000:.0f} ms per view",
                flush=True,
            )
    print()
    total = time.perf_counter() - started
    print(f"Server RSS after start: {base_rss / 2**20:.0f} MB; benchmark took {total:.0f} s")
    print()
    print(f"Load average at the end: {os.getloadavg()[0]:.1f} (other work slows the views)")
    print()
    print(
        "| sessions | p50 to a finished view | p95 | max | errors | server RSS "
        "| server CPU per view |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, times, n_errors, rss, cpu in rows:
        print(
            f"| {n} | {percentile(times, 50):.2f} s | {percentile(times, 95):.2f} s | "
            f"{max(times, default=float('nan')):.2f} s | {n_errors} | {rss / 2**20:.0f} MB "
            f"| {cpu * 1000:.0f} ms |"
        )
    by_n = {n: (times, n_errors, rss) for n, times, n_errors, rss, _ in rows}
    results = []
    if 20 in by_n:
        times, n_errors, _ = by_n[20]
        p95 = percentile(times, 95)
        results.append(
            (
                "20 sessions: p95 <= 2 s, zero errors",
                f"{p95:.2f} s, {n_errors} errors",
                p95 <= 2.0 and n_errors == 0,
            )
        )
    if 40 in by_n:
        n_errors = by_n[40][1]
        results.append(("40 sessions: zero errors", f"{n_errors} errors", n_errors == 0))
    if len(rows) > 1:
        (n_lo, _, _, rss_lo, _), (n_hi, _, _, rss_hi, _) = rows[0], rows[-1]
        growth = (rss_hi - rss_lo) / max(1, n_hi - n_lo) / 2**20
        results.append(
            (
                f"memory per extra session (N={n_lo} -> {n_hi}) <= 30 MB",
                f"{growth:.1f} MB",
                growth <= 30,
            )
        )
    print()
    print("| target | measured | result |")
    print("|---|---:|---|")
    for target, measured, passed in results:
        print(f"| {target} | {measured} | {'PASS' if passed else 'FAIL'} |")
    for failure in failures[:10]:
        print("error:", failure)
    return 0 if all(passed for _, _, passed in results) else 1


if __name__ == "__main__":
    sys.exit(main())
