"""A screenshot gallery for review: every page and every tour step, as a projector shows them
(1280x720, ``?present=1``) and on a laptop (1440x900), saved under ``artifacts/gallery/``
(git-ignored). Each shot must render without an exception.

One ``streamlit run`` server and one headless Chromium serve every shot: the window is resized
between the two passes. Run with ``pytest tests/test_gallery.py`` (marked ``browser``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import REPO_ROOT, running_app

from nlpviz.tours import TOURS
from nlpviz.ui.sidebar import PRESENT_PARAM, TOUR_PARAM

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
GALLERY = REPO_ROOT / "artifacts" / "gallery"
SIZES = {"present-1280x720": (1280, 720, True), "laptop-1440x900": (1440, 900, False)}
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
LOAD_TIMEOUT = 120  # a page's first run imports torch and loads its checkpoints
SETTLE_S = 0.4  # plotly draws after the script run ends


def page_path(page_file: str) -> str:
    """``"1_Kim_CNN.py"`` -> ``"/Kim_CNN"`` (Streamlit's URL of a pages/ file)."""
    return "/" + Path(page_file).stem.split("_", 1)[1]


def shots() -> list[tuple[str, str, dict[str, str]]]:
    """(name, path, query) of every page and every tour step."""
    found = [("00-home", "/", {})]
    pages = (REPO_ROOT / "pages").glob("[0-9]*_*.py")
    for page in sorted(pages, key=lambda p: int(p.stem.split("_")[0])):
        found.append((page.stem, page_path(page.name), {}))
    for page, tour in TOURS.items():
        for number, step in enumerate(tour.steps, start=1):
            query = {**step.params, TOUR_PARAM: str(number)}
            if step.tab:
                query["tab"] = step.tab
            found.append((f"{Path(page).stem}-tour{number}", page_path(page), query))
    return found


def url_of(base: str, path: str, query: dict[str, str], present: bool) -> str:
    query = {**query, **({PRESENT_PARAM: "1"} if present else {})}
    return f"{base}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the gallery needs {' and '.join(missing)}", pytrace=False)
        pytest.skip(f"the gallery needs {' and '.join(missing)} (apt-get install chromium "
                    "chromium-driver)")  # fmt: skip
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="nlpviz-gallery-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--hide-scrollbars", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(LOAD_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def render(driver, url: str) -> None:
    """Open ``url`` and wait until the app has run its script and gone idle."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    time.sleep(0.3)  # the script-state attribute starts as "notRunning" before the first run
    WebDriverWait(driver, LOAD_TIMEOUT, poll_frequency=0.2).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, IDLE) and d.find_elements(By.TAG_NAME, "h1")
    )
    time.sleep(SETTLE_S)


def test_every_page_and_tour_step_renders_at_both_sizes(browser, tmp_path_factory):
    from selenium.webdriver.common.by import By

    log = tmp_path_factory.mktemp("gallery") / "server.log"
    failures, count, start = [], 0, time.perf_counter()
    with running_app(log) as server:
        for size, (width, height, present) in SIZES.items():
            folder = GALLERY / size
            folder.mkdir(parents=True, exist_ok=True)
            browser.set_window_size(width, height)
            for name, path, query in shots():
                render(browser, url_of(server.url, path, query, present))
                browser.save_screenshot(str(folder / f"{name}.png"))
                count += 1
                errors = browser.find_elements(By.CSS_SELECTOR, EXCEPTION)
                if errors:
                    failures.append(f"{size}/{name}: {errors[0].text[:300]}")
    seconds = time.perf_counter() - start
    print(f"\ngallery: {count} screenshots in {seconds:.0f} s under {GALLERY}")
    assert count == 2 * len(shots())
    assert not failures, "pages with an exception:\n" + "\n".join(failures)
