"""End-to-end checks in a real browser: the app starts, pages render, input round-trips.

Starts ``streamlit run app.py`` on a free loopback port and drives Debian's headless Chromium
through selenium with the system chromedriver (selenium is never allowed to download a driver).
Screenshots go to a pytest temporary folder, never into the repository.

Run with ``pytest -m browser`` (or ``pytest tests/test_browser.py``). Without chromium and
chromedriver the tests are skipped locally; in CI (``CI`` set) they fail instead, since
``scripts/test.sh`` installs both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import REPO_ROOT, AppServer, running_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

FIRST_LOAD_TIMEOUT = 90  # the first run of a page imports torch and loads checkpoints
RERUN_TIMEOUT = 60  # a rerun after new input
CHART_TIMEOUT = 30  # plotly draws its svg after the script run has finished

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
RUNNING = "[data-testid='stApp'][data-test-script-state='running']"
EXCEPTION = "[data-testid='stException']"
ALERT = "[data-testid='stAlert']"
PLOTLY_SVG = ".js-plotly-plot .main-svg, [data-testid='stPlotlyChart'] svg.main-svg"

SENTENCE = "A wonderfully strange and moving film about grief."
DEEP_LINK = "/Kim_CNN?text=%3Cscript%3Ealert(1)%3C%2Fscript%3E%20great%20film&variant=rand"


# ---- environment ---------------------------------------------------------------------------


def _require_chromium() -> None:
    """Skip (locally) or fail (in CI) when the browser or its driver is not installed."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(
            f"Browser tests need {' and '.join(missing)}, which are missing. Run scripts/test.sh, "
            "which installs chromium and chromium-driver before running the tests.",
            pytrace=False,
        )
    pytest.skip(
        f"Browser tests need {' and '.join(missing)} (apt-get install chromium "
        "chromium-driver, or run scripts/test.sh); set CI=1 to make this a failure."
    )


@pytest.fixture(scope="module")
def chromium_available() -> None:
    _require_chromium()


@pytest.fixture(scope="module")
def server(chromium_available, tmp_path_factory) -> Iterator[AppServer]:
    """``streamlit run app.py`` on a free loopback port; yields once /_stcore/health is ok."""
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    # The attribution grid runs by itself only when one timed forward pass predicts less than
    # NLPVIZ_ATTRIBUTION_AUTORUN_S; left at its default, a slower machine would get the Run
    # button instead of the grid and the /Attribution checks would depend on its speed.
    try:
        with running_app(log, env={"NLPVIZ_ATTRIBUTION_AUTORUN_S": "600"}) as handle:
            yield handle
    except RuntimeError as error:  # the server exited or never became healthy
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nbrowser screenshots: {folder}")
    return folder


@pytest.fixture
def driver(chromium_available) -> Iterator:
    """A fresh headless Chromium with its own profile, driven by the system chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="nlpviz-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,2200",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    # An explicit driver path: selenium never runs Selenium Manager, so it never downloads.
    service = Service(executable_path=str(CHROMEDRIVER))
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_page_load_timeout(FIRST_LOAD_TIMEOUT)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


# ---- helpers -------------------------------------------------------------------------------


def _page_report(driver, server: AppServer) -> str:
    """What is on the page (exceptions, alert boxes) and the server log, for failure messages."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    parts = []
    try:
        parts.append(f"url: {driver.current_url}")
        state = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stApp']")
        if state:
            parts.append(f"script state: {state[0].get_attribute('data-test-script-state')}")
        for selector, name in ((EXCEPTION, "exception"), (ALERT, "alert box")):
            for element in driver.find_elements(By.CSS_SELECTOR, selector):
                parts.append(f"{name}: {element.text[:1500]}")
    except WebDriverException as error:
        parts.append(f"(could not inspect the page: {error.msg})")
    parts.append(server.log_tail())
    return "\n".join(parts)


def _wait(driver, server: AppServer, timeout: float, condition, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        pytest.fail(
            f"Timed out after {timeout:.0f} s waiting for {what}.\n" + _page_report(driver, server),
            pytrace=False,
        )


def _wait_idle(driver, server: AppServer, timeout: float) -> None:
    """Wait until the app is connected, has rendered a title and its script is not running."""
    from selenium.webdriver.common.by import By

    def idle(d) -> bool:
        return bool(
            d.find_elements(By.CSS_SELECTOR, IDLE) and d.find_elements(By.CSS_SELECTOR, "h1")
        )

    _wait(driver, server, timeout, idle, "the app to render and go idle")


def _open(driver, server: AppServer, path: str) -> None:
    driver.get(server.url + path)
    _wait_idle(driver, server, FIRST_LOAD_TIMEOUT)


def _assert_no_exception(driver, server: AppServer) -> None:
    from selenium.webdriver.common.by import By

    if driver.find_elements(By.CSS_SELECTOR, EXCEPTION):
        pytest.fail("The page shows an exception.\n" + _page_report(driver, server), pytrace=False)


def _wait_chart(driver, server: AppServer) -> None:
    from selenium.webdriver.common.by import By

    _wait(
        driver,
        server,
        CHART_TIMEOUT,
        lambda d: d.find_elements(By.CSS_SELECTOR, PLOTLY_SVG),
        "a plotly chart (svg.main-svg) to be drawn",
    )


def _screenshot(driver, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save a screenshot to {path}"
    print(f"screenshot: {path}")
    return path


def _textarea(driver, server: AppServer):
    from selenium.webdriver.common.by import By

    def find(d):
        labelled = d.find_elements(By.CSS_SELECTOR, "textarea[aria-label='Sentence to classify']")
        return (labelled or d.find_elements(By.TAG_NAME, "textarea") or [None])[0]

    return _wait(driver, server, 10, find, "the 'Sentence to classify' text area")


# ---- tests ---------------------------------------------------------------------------------


def test_landing_page_renders(driver, server, screenshots):
    from selenium.webdriver.common.by import By

    _open(driver, server, "/")
    _assert_no_exception(driver, server)
    title = driver.find_element(By.TAG_NAME, "h1").text
    assert "nlpviz" in title, f"landing page title is {title!r}\n" + _page_report(driver, server)
    assert "nlpviz" in driver.title, f"browser tab title is {driver.title!r}"
    _screenshot(driver, screenshots, "landing")


def test_kim_cnn_classifies_typed_sentence(driver, server, screenshots):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _open(driver, server, "/Kim_CNN")
    _assert_no_exception(driver, server)

    box = _textarea(driver, server)
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(SENTENCE)
    _wait(
        driver,
        server,
        5,
        lambda d: box.get_property("value") == SENTENCE,
        "the text area to hold the typed sentence",
    )
    # st.text_area commits on Ctrl+Enter (or blur); the rerun then mirrors it into ?text=.
    ActionChains(driver).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()

    # The rerun has visibly started once the URL carries the new text (publish_query runs
    # early in the script) or the app reports it is running; then wait for it to finish.
    _wait(
        driver,
        server,
        RERUN_TIMEOUT,
        lambda d: "wonderfully" in d.current_url or d.find_elements(By.CSS_SELECTOR, RUNNING),
        "the rerun after Ctrl+Enter to start",
    )
    _wait(
        driver,
        server,
        RERUN_TIMEOUT,
        lambda d: "wonderfully" in d.current_url and d.find_elements(By.CSS_SELECTOR, IDLE),
        "the rerun to finish with the sentence in the URL",
    )
    _assert_no_exception(driver, server)
    _wait_chart(driver, server)
    assert "wonderfully" in driver.current_url, driver.current_url
    # the prediction shown is the one the checkpoint gives the typed sentence
    metric = driver.find_element(By.CSS_SELECTOR, "[data-testid='stMetric']")
    label = metric.find_element(By.CSS_SELECTOR, "[data-testid='stMetricLabel']").text
    shown = metric.find_element(By.CSS_SELECTOR, "[data-testid='stMetricValue']").text
    variant = label.strip().removeprefix("CNN-").removesuffix(" predicts")
    assert shown == _kim_prediction(f"kim-cnn-{variant}-mr", SENTENCE), (label, shown)
    _screenshot(driver, screenshots, "kim_cnn_typed")


def _kim_prediction(checkpoint: str, text: str) -> str:
    """The class the checkpoint predicts for ``text``, computed here, outside the app."""
    import torch

    from nlpviz.analysis.kim_cnn import classify_many
    from nlpviz.checkpoints import CheckpointError
    from nlpviz.ui.loaders import load_model

    loaded = load_model(checkpoint, "cpu")
    assert not isinstance(loaded, CheckpointError), loaded
    probabilities = classify_many(loaded.model, loaded.vocab, [text], torch.device("cpu"))
    return loaded.card["class_names"][int(probabilities[0].argmax())]


def test_kim_cnn_deep_link_shows_html_as_text(driver, server, screenshots):
    from selenium.common.exceptions import NoAlertPresentException

    _open(driver, server, DEEP_LINK)
    _assert_no_exception(driver, server)
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        pass
    else:
        message = alert.text
        alert.dismiss()
        pytest.fail(f"The deep link opened a JavaScript alert ({message!r}): HTML was executed.")

    injected = driver.execute_script(
        "return [...document.querySelectorAll('script')]"
        ".filter((s) => s.textContent.includes('alert(1)')).length"
    )
    assert injected == 0, "the link's <script> became an element of the page"
    value = _textarea(driver, server).get_property("value")
    assert "<script>" in value, (
        f"the text area should show the link's text as typed, got {value!r}\n"
        + _page_report(driver, server)
    )
    _wait_chart(driver, server)
    _screenshot(driver, screenshots, "kim_cnn_deep_link")


def test_han_page_opens_by_url_and_draws_the_document(driver, server, screenshots):
    _open(driver, server, "/HAN?task=news")
    _assert_no_exception(driver, server)
    _wait_chart(driver, server)
    bars = driver.find_elements("css selector", "div[title^='sentence ']")
    assert len(bars) >= 2, "the document view should draw one bar per sentence\n" + _page_report(
        driver, server
    )
    _screenshot(driver, screenshots, "han")


LATTICE_TOKENS_JS = """
const lattice = [...document.querySelectorAll('.js-plotly-plot')]
  .flatMap((plot) => plot.data || [])
  .find((trace) => trace.name === '(position, tag)');
return lattice ? [...new Set(lattice.x)] : null;
"""


def test_tagger_page_opens_by_url_and_draws_the_lattice(driver, server, screenshots):
    _open(
        driver,
        server,
        "/Tagger?variant=blstm-cnn-crf&tab=CRF%3A%20emissions%2C%20transitions%2C%20lattice"
        "&text=Taylor%20Swift%20played%20in%20New%20York",
    )
    _assert_no_exception(driver, server)
    _wait_chart(driver, server)
    columns = _wait(
        driver,
        server,
        CHART_TIMEOUT,
        lambda d: d.execute_script(LATTICE_TOKENS_JS),
        "the lattice (the trace of (position, tag) nodes)",
    )
    words = [str(column).split("·", 1)[-1] for column in columns]
    assert words == "Taylor Swift played in New York".split(), columns
    _screenshot(driver, screenshots, "tagger")


DEEP_LINKS = {  # deep link -> the screenshot's name
    "/Attention?model=all-MiniLM-L6-v2%20(pretrained)&layer=2&head=3"
    "&text=The%20cat%20sat%20on%20the%20mat%20because%20it%20was%20tired.": "attention_minilm",
    "/Attention?model=DeBERTa%20(nlpviz%20miniature)&layer=4&head=1"
    "&text=%3Cb%3EThe%20film%3C%2Fb%3E%20was%20long.": "attention_deberta",
    "/Positional_Encoding?n=64&d=32&pos=5&k=3": "positional_encoding",
    "/Masked_LM?text=The%20minister%20said%20the%20plan%20would%20cut%20taxes.&word=1": "masked_lm",
    "/DeBERTa?text=The%20old%20man%20the%20boat.&layer=2&head=2": "deberta",
    "/DeBERTaV3?text=The%20chef%20cooked%20a%20delicious%20meal%20for%20us.": "debertav3",
    "/LoRA?rank=64&layer=6&matrix=value": "lora",
    "/Translation?text=The%20film%20is%20funny%2C%20warm%20and%20beautifully%20acted.&beam=4": (
        "translation"
    ),
    "/Translation?view=beam&model=translate-transformer&beam=5&alpha=0.6"
    "&text=She%20gave%20the%20old%20man%20a%20book%20about%20the%20war.": "translation_beam",
    "/Translation?view=space": "translation_space",
    "/Translation?view=attention&kind=cross&layer=2&head=3"
    "&text=%3Cb%3EThe%20president%3C%2Fb%3E%20met%20the%20minister.": "translation_attention",
    "/Gated_RNN?view=text&cell=gru&gate=update&order=change&unit=7"
    "&text=The%20minister%20said%20%3Cb%3Eyes%3C%2Fb%3E.": "gated_rnn_text",
    "/Gated_RNN?view=music&cell=lstm": "gated_rnn_music",
    "/Gated_RNN": "gated_rnn_curves",
    "/Attribution?models=kim-cnn-multichannel-mr,han-news&methods=ig,ixg"
    "&text=A%20gorgeous%20%3Cb%3Ewitty%3C%2Fb%3E%20movie.": "attribution",
}


@pytest.mark.parametrize("link", list(DEEP_LINKS))
def test_model_pages_open_by_deep_link_and_draw(driver, server, screenshots, link):
    _open(driver, server, link)
    _assert_no_exception(driver, server)
    _wait_chart(driver, server)
    _screenshot(driver, screenshots, DEEP_LINKS[link])


PAGE_FILES = {  # URL path -> the page's file, as Streamlit names pages ("1_Kim_CNN" -> /Kim_CNN)
    "/" + page.stem.split("_", 1)[1]: f"pages/{page.name}"
    for page in sorted((REPO_ROOT / "pages").glob("*.py"))
}


@pytest.mark.parametrize("path", ["/", *PAGE_FILES])
def test_presentation_mode_renders_every_page_at_projector_size(driver, server, screenshots, path):
    from selenium.webdriver.common.by import By

    from nlpviz.ui.sidebar import key_idea

    size = driver.get_window_size()
    driver.set_window_size(1280, 720)
    try:
        _open(driver, server, f"{path}?present=1")
        _assert_no_exception(driver, server)
        if path != "/":
            _wait_chart(driver, server)
        idea = key_idea(PAGE_FILES.get(path))
        if idea:
            shown = " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ALERT))
            assert idea.split(": ", 1)[1][:40] in shown, f"{path}: no key-idea banner\n{shown}"
        name = "landing" if path == "/" else path.strip("/").lower()
        _screenshot(driver, screenshots, f"present_{name}")
    finally:
        driver.set_window_size(size["width"], size["height"])


# What a projector must enlarge, measured as rendered CSS px (font-size times any CSS zoom).
# st.dataframe draws its cells on a canvas in Streamlit's small font (14 px), so a table's size
# is that font times the zoom presentation mode gives the grid.
RENDERED_FONT_SIZES_JS = """
const zoom = (el) => {  // the product of CSS zooms up the tree (also inside a hidden tab)
  let z = 1;
  for (let n = el; n; n = n.parentElement) z *= parseFloat(getComputedStyle(n).zoom) || 1;
  return z;
};
const px = (el) => el ? parseFloat(getComputedStyle(el).fontSize) * zoom(el) : 0;
const one = (selector) => document.querySelector(selector);
const grid = one('[data-testid="stMain"] [data-testid="stDataFrame"]');
return {
  metric: px(one('[data-testid="stMetricValue"] div') || one('[data-testid="stMetricValue"]')),
  table: grid ? 14 * zoom(grid) : 0,
  tagged: px(one('[data-testid="stMain"] [data-testid="stHtml"] div[style*="font-size"]')),
  tick: px(one('.js-plotly-plot .ytick text')),
  legend: px(one('.js-plotly-plot .legendtext')),
};
"""
PROJECTOR_MINIMUM_PX = {"metric": 40, "table": 18, "tagged": 20, "tick": 14, "legend": 16}


def test_presentation_mode_enlarges_results_tables_tagged_text_and_chart_labels(driver, server):
    """At 1280x720 with ?present=1 the prediction, the tables, the tagged sentence and the
    plotly ticks and legend are larger than the normal view, and large enough for a projector;
    the normal view is measured too, so the thresholds are known to tell the two apart."""
    size = driver.get_window_size()
    driver.set_window_size(1280, 720)
    link = "/Kim_CNN?text=A%20gorgeous%2C%20witty%20film%20that%20never%20loses%20its%20nerve."
    try:
        measured = {}
        for mode, suffix in (("normal", ""), ("present", "&present=1")):
            _open(driver, server, link + suffix)
            _assert_no_exception(driver, server)
            _wait_chart(driver, server)
            measured[mode] = driver.execute_script(RENDERED_FONT_SIZES_JS)
    finally:
        driver.set_window_size(size["width"], size["height"])
    small = {k: v for k, v in measured["present"].items() if v < PROJECTOR_MINIMUM_PX[k]}
    assert not small, f"too small for a projector (px): {small}; all: {measured}"
    passes = [k for k, v in measured["normal"].items() if v >= PROJECTOR_MINIMUM_PX[k]]
    assert not passes, f"the normal view already meets {passes}: the check proves nothing"


def test_masked_lm_word_pills_wrap_so_every_word_can_be_clicked(driver, server):
    """The "Click the word to hide" pills wrap onto more lines instead of scrolling sideways
    (7 of 15 words were visible at 1280x720)."""
    size = driver.get_window_size()
    driver.set_window_size(1280, 720)
    text = "The minister said on Tuesday that the new plan would cut taxes for most families."
    try:
        _open(driver, server, "/Masked_LM?word=1&text=" + text.replace(" ", "%20"))
        _assert_no_exception(driver, server)
        _wait(
            driver,
            server,
            RERUN_TIMEOUT,
            lambda d: d.find_elements("css selector", "[data-testid='stButtonGroup'] button"),
            "the word pills",
        )
        found = driver.execute_script(
            """
            const group = document.querySelector('[data-testid="stButtonGroup"] [role=radiogroup]');
            const box = group.getBoundingClientRect();
            const pills = [...group.querySelectorAll('button')];
            return {pills: pills.length,
                    outside: pills.filter((p) => p.getBoundingClientRect().right > box.right + 1)
                                  .map((p) => p.innerText)};
            """
        )
    finally:
        driver.set_window_size(size["width"], size["height"])
    assert found["pills"] == 15, found
    assert not found["outside"], f"pills cut off at the right: {found['outside']}"
