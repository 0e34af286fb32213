"""Render the README's three screenshots (Kim CNN, Attention, Masked LM) into docs/img/.

Starts ``streamlit run app.py`` on a free loopback port, opens each page in headless Chromium
(Debian's /usr/bin/chromium with the system chromedriver; nothing is downloaded) at 1280x720,
waits until the app is idle and a chart is drawn, and saves a PNG downscaled to 800 px wide
(PIL; without PIL the window itself is 800 px wide) and reduced to 256 colours.

    .venv/bin/python scripts/readme_screenshots.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from app_server import running_app  # noqa: E402

OUT = REPO_ROOT / "docs" / "img"
SHOTS = {
    "kim-cnn.png": "/Kim_CNN",
    "attention.png": "/Attention",
    "masked-lm.png": "/Masked_LM",
}
SIZE = (1280, 720)
WIDTH = 800
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHART = "[data-testid='stPlotlyChart'] svg.main-svg"


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        from PIL import Image
    except ImportError:  # the window is the picture
        Image = None  # noqa: N806
    OUT.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="nlpviz-readme-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(
        service=Service(executable_path="/usr/bin/chromedriver"), options=options
    )
    width, height = SIZE if Image is not None else (WIDTH, round(WIDTH * SIZE[1] / SIZE[0]))
    driver.set_window_size(width, height)
    try:
        with running_app(Path(profile) / "server.log") as server:
            for name, path in SHOTS.items():
                driver.get(server.url + path)
                time.sleep(0.5)
                WebDriverWait(driver, 180, poll_frequency=0.2).until(
                    lambda d: (
                        d.find_elements(By.CSS_SELECTOR, IDLE)
                        and d.find_elements(By.CSS_SELECTOR, CHART)
                    )
                )
                # the first chart near the top of the window: the picture shows a result
                driver.execute_script(
                    "const c = document.querySelector(arguments[0]);"
                    "if (c) c.scrollIntoView({block: 'start'});",
                    "[data-testid='stPlotlyChart']",
                )
                time.sleep(1.0)  # plotly finishes its layout
                target = OUT / name
                driver.save_screenshot(str(target))
                if Image is not None:
                    with Image.open(target) as image:
                        small = image.convert("RGB").resize(
                            (WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS
                        )
                    small.quantize(256).save(target, optimize=True)
                print(f"{target.relative_to(REPO_ROOT)}: {target.stat().st_size / 1024:.0f} KB")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
