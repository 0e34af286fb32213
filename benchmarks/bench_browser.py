"""Browser time from a typed sentence to the finished view: Kim CNN and Attribution.

Starts ``streamlit run app.py`` on a free loopback port and drives Debian's headless Chromium
(/usr/bin/chromium + /usr/bin/chromedriver; nothing is downloaded). For each page: open it
once (cold start, not counted), then ``--runs`` times type a new sentence into the text box,
press Ctrl+Enter and wait until the app is idle (``stApp[data-test-script-state=notRunning]``)
and the expected chart is drawn. A fresh sentence each run: nothing comes from the cache.

Breakdown, all from ``performance.now()`` marks in the page (a MutationObserver on the script
state and on the plotly charts):

- ``to start``: Ctrl+Enter to the script state turning "running" (the widget's message over
  the websocket and the server starting the script run);
- ``script``: "running" to "notRunning" (the server's script run, with its deltas streamed and
  rendered as they arrive);
- ``draw``: "notRunning" to the last change of a plotly chart (plotly drawing the figures).

    .venv/bin/python benchmarks/bench_browser.py              # 10 runs per page
    .venv/bin/python benchmarks/bench_browser.py --runs 5 --json artifacts/bench_browser.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from app_server import running_app  # noqa: E402

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHART = "[data-testid='stPlotlyChart'] svg.main-svg"
PAGES = {
    # page, the chart that must be drawn (a title), sentences to type
    "Kim CNN": (
        "/Kim_CNN",
        "Every variant on your text",
        "a {adj} film about {noun}, and the acting is {adj2}",
    ),
    "Attribution (default: 3 models x 3 methods)": (
        "/Attribution",
        "Attribution grid",
        "a {adj} film about {noun}, and the acting is {adj2}",
    ),
    "Attribution (Kim CNN only)": (
        "/Attribution?models=kim-cnn-multichannel-mr&methods=ig,ixg,occlusion",
        "Attribution grid",
        "a {adj} film about {noun}, and the acting is {adj2}",
    ),
}
ADJECTIVES = ("gorgeous", "dull", "witty", "clumsy", "moving", "stale", "bold", "thin", "warm",
              "cold", "sharp", "limp", "bright", "murky")  # fmt: skip
NOUNS = ("grief", "love", "war", "money", "family", "music", "school", "time", "ghosts", "dogs")
OBSERVER = """
window.__marks = [];
window.__chart = 0;
const app = document.querySelector("[data-testid='stApp']");
new MutationObserver(() => window.__marks.push(
    [app.getAttribute('data-test-script-state'), performance.now()])
).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
new MutationObserver((records) => {
    for (const r of records) {
        const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
        if (el && el.closest && el.closest("[data-testid='stPlotlyChart']")) {
            window.__chart = performance.now(); return;
        }
    }
}).observe(document.body, {subtree: true, childList: true, attributes: true});
"""


def sentence(template: str, i: int) -> str:
    return (
        template.format(
            adj=ADJECTIVES[i % len(ADJECTIVES)],
            adj2=ADJECTIVES[(3 * i + 5) % len(ADJECTIVES)],
            noun=NOUNS[(i * 7) % len(NOUNS)],
        )
        + f" (take {i})"
    )


def wait_idle_with_chart(driver, title: str, timeout: float = 300) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def done(d) -> bool:
        if not d.find_elements(By.CSS_SELECTOR, IDLE):
            return False
        return any(title in (c.text or "") for c in d.find_elements(By.CSS_SELECTOR, CHART))

    WebDriverWait(driver, timeout, poll_frequency=0.02).until(done)


def one_run(driver, text: str, title: str) -> dict[str, float]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element(By.TAG_NAME, "textarea")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)
    driver.execute_script("window.__marks = []; window.__chart = 0;")
    start = driver.execute_script("return performance.now();")
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    # the run must start (and end) after Ctrl+Enter
    WebDriverWait(driver, 60, poll_frequency=0.02).until(
        lambda d: any(s == "running" for s, _ in d.execute_script("return window.__marks;"))
    )
    wait_idle_with_chart(driver, title)
    time.sleep(0.5)  # let plotly finish; its last change is read from the observer
    marks = driver.execute_script("return window.__marks;")
    chart = driver.execute_script("return window.__chart;")
    running = next(t for s, t in marks if s == "running")
    idle = max(t for s, t in marks if s == "notRunning")
    end = max(idle, chart or idle)
    return {
        "total_ms": end - start,
        "to_start_ms": running - start,
        "script_ms": idle - running,
        "draw_ms": end - idle,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    print(f"load average at start: {os.getloadavg()}")
    profile = tempfile.mkdtemp(prefix="nlpviz-bench-browser-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--window-size=1440,900",
        f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(
        service=Service(executable_path="/usr/bin/chromedriver"), options=options
    )
    results: dict[str, dict] = {}
    try:
        with running_app(Path(profile) / "server.log") as server:
            for name, (path, title, template) in PAGES.items():
                driver.get(server.url + path)
                wait_idle_with_chart(driver, title)  # cold start: not counted
                driver.execute_script(OBSERVER)
                one_run(driver, sentence(template, 999), title)  # warm-up: not counted
                runs = [one_run(driver, sentence(template, i), title) for i in range(args.runs)]
                summary = {
                    key: statistics.median(r[key] for r in runs)
                    for key in ("total_ms", "to_start_ms", "script_ms", "draw_ms")
                }
                results[name] = {"p50": summary, "runs": runs}
                print(
                    f"{name}: p50 {summary['total_ms']:.0f} ms = to start "
                    f"{summary['to_start_ms']:.0f} + script {summary['script_ms']:.0f} + draw "
                    f"{summary['draw_ms']:.0f} (min {min(r['total_ms'] for r in runs):.0f}, "
                    f"max {max(r['total_ms'] for r in runs):.0f}, {len(runs)} runs)"
                )
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
