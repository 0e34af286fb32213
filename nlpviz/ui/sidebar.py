"""The sidebar every page shares: the device, presentation mode, and a link to this view.

Presentation mode (a toggle, or ``?present=1`` in a link) is for a projector: larger text and
figures, the paper's key idea above the page. It lives in the session's state and the URL only,
never in shared figure templates, so one visitor's projector never changes another's view.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import streamlit as st
import torch
from streamlit.errors import StreamlitAPIException

from nlpviz.device import configure_serving_threads, cuda_available, describe_device, pick_device
from nlpviz.papers import PAPERS
from nlpviz.tours import Tour, tour_for
from nlpviz.ui.script_slots import install as install_run_slots
from nlpviz.ui.url_numbers import url_int
from nlpviz.viz.common import plain_text

FORCE_CPU_KEY = "global_force_cpu"
PRESENT_KEY = "global_present"
PRESENT_PARAM = "present"
SHARE_SLOT_KEY = "_global_share_slot"  # the sidebar's placeholder for this run's link

# Static CSS (no user text): larger type for a projector at 1280x720, the page full width.
PRESENTATION_CSS = """
<style>
[data-testid="stMain"] .block-container { max-width: 100%; padding: 3rem 2rem 2rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] { font-size: 1.3rem; }
[data-testid="stMain"] h1 { font-size: 2.6rem; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 1.9rem; }
[data-testid="stMain"] textarea, [data-testid="stMain"] input { font-size: 1.25rem; }
[data-testid="stCaptionContainer"] { font-size: 1.1rem; }
[data-testid="stMain"] [data-testid="stMetricValue"],
[data-testid="stMain"] [data-testid="stMetricValue"] * { font-size: 3rem; line-height: 1.2; }
[data-testid="stMain"] [data-testid="stMetricDelta"] * { font-size: 1.3rem; }
[data-testid="stMain"] [data-testid="stTable"] td,
[data-testid="stMain"] [data-testid="stTable"] th { font-size: 1.25rem; }
[data-testid="stMain"] [data-testid="stDataFrame"] { zoom: 1.35; max-width: 100%; }
[data-testid="stMain"] [data-testid="stDataFrame"] div[style*="max-width"] {
  width: 100% !important; max-width: 100% !important; }
[data-testid="stMain"] [data-testid="stHtml"] { zoom: 1.3; max-width: 100%; }
</style>
"""


def presentation_mode() -> bool:
    """Whether this session shows pages for a projector."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def _current_page_path() -> str | None:
    """The running page's script path relative to the app (``pages/1_Kim_CNN.py``), if known."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        manager = ctx.pages_manager
        script = manager.get_pages()[manager.current_page_script_hash]["script_path"]
        return (
            Path(script)
            .resolve()
            .relative_to(Path(manager.main_script_parent).resolve())
            .as_posix()
        )
    except Exception:  # AppTest from a function, or a Streamlit without these internals
        return None


def key_idea(page_path: str | None) -> str | None:
    """The first paper's idea among those that link this page (the gallery's own wording)."""
    for paper in PAPERS:
        # by file name: the same page whether the app or a test started it
        if page_path and any(Path(path).name == Path(page_path).name for path, _ in paper.pages):
            return f"{paper.authors} {paper.year}: {paper.idea}"
    return None


def share_url() -> str:
    """This view as a link: the page's address with the current query parameters."""
    query = {k: st.query_params.get(k) for k in st.query_params}
    if presentation_mode():
        query[PRESENT_PARAM] = "1"
    else:
        query.pop(PRESENT_PARAM, None)
    try:
        address = st.context.url or ""
    except Exception:
        address = ""
    base = address.split("?", 1)[0]
    encoded = urllib.parse.urlencode(query)
    return f"{base}?{encoded}" if encoded else base or "./"


TOUR_PARAM = "tour"
APP_ROOT = Path(__file__).resolve().parents[2]
HOME_LABEL = "Home"


def page_label(stem: str) -> str:
    """A page's name in the navigation, as Streamlit derives it: ``1_Kim_CNN`` -> ``Kim CNN``."""
    return re.sub(r"^\d+_", "", stem).replace("_", " ")


def navigation_entries(root: Path = APP_ROOT) -> list[tuple[str, str]]:
    """(path, label) of every page in the navigation: the landing page as "Home", then pages/
    in Streamlit's order (by number)."""
    pages = sorted(
        (root / "pages").glob("[0-9]*_*.py"), key=lambda p: (int(p.stem.split("_")[0]), p.stem)
    )
    return [("app.py", HOME_LABEL)] + [(f"pages/{p.name}", page_label(p.stem)) for p in pages]


def _navigation() -> None:
    """Every page, always listed in full (Streamlit's own list of pages/ folds after ten into
    "View 3 more" and names the landing page after its file, "app"; config.toml hides it)."""
    for path, label in navigation_entries():
        try:
            st.page_link(path, label=label)
        except StreamlitAPIException:  # AppTest of one page file: the others are not pages here
            return


def _tour_key(tour: Tour) -> str:
    return f"global_tour_{tour.prefix}"


def go_to_step(tour: Tour, number: int) -> None:
    """Set the page's inputs to tour step ``number`` (1-based; 0 leaves the tour).

    The page's own widget state is dropped, so its widgets start again from the step's link
    parameters exactly as they would from a shared link.
    """
    st.session_state[_tour_key(tour)] = number
    if number == 0:
        if TOUR_PARAM in st.query_params:
            del st.query_params[TOUR_PARAM]
        return
    step = tour.steps[number - 1]
    for name in list(st.session_state):
        if str(name).startswith(f"{tour.prefix}_"):
            del st.session_state[name]
    params = {**step.params, TOUR_PARAM: str(number)}
    if step.tab:  # the step opens the tab it talks about (pages read ?tab= like a shared link)
        params["tab"] = step.tab
    if presentation_mode():
        params[PRESENT_PARAM] = "1"
    st.query_params.from_dict(params)


def _tour_picker(tour: Tour) -> None:
    key = _tour_key(tour)
    if key not in st.session_state:
        # a bad ?tour= (not a number, out of range) simply leaves the tour off
        step, refused = url_int(TOUR_PARAM, 0, 0, len(tour.steps))
        st.session_state[key] = 0 if refused else step
        if (
            step
            and not refused
            and not any(p in st.query_params for p in tour.steps[step - 1].params)
        ):
            # a bare ?tour=N (typed, or shortened by hand) opens the step's view, not the page's
            # defaults under the step's words; a link that carries inputs keeps its own
            go_to_step(tour, step)
    st.selectbox(
        f"Guided tour: {tour.title}",
        options=list(range(len(tour.steps) + 1)),
        # option labels are plain text: "*it*" would show its asterisks
        format_func=lambda k: (
            "Off" if k == 0 else f"Step {k}: {plain_text(tour.steps[k - 1].title)}"
        ),
        key=key,
        on_change=lambda: go_to_step(tour, st.session_state[key]),
        help="Each step sets this page's inputs and says what to notice.",
    )


def _tour_banner(tour: Tour) -> None:
    number = int(st.session_state.get(_tour_key(tour), 0))
    if not 1 <= number <= len(tour.steps):
        return
    step = tour.steps[number - 1]
    with st.container(border=True):
        st.markdown(f"**Tour, step {number} of {len(tour.steps)}: {step.title}**\n\n{step.say}")
        left, right, _ = st.columns([1, 1, 4])
        if number > 1:
            left.button("← Back", key="global_tour_back", on_click=go_to_step,
                        args=(tour, number - 1))  # fmt: skip
        if number < len(tour.steps):
            right.button("Next step →", key="global_tour_next", on_click=go_to_step,
                         args=(tour, number + 1))  # fmt: skip
        else:
            right.button("End the tour", key="global_tour_end", on_click=go_to_step,
                         args=(tour, 0))  # fmt: skip


def refresh_share_link() -> None:
    """Redraw the sidebar's link with the query parameters the page has published so far."""
    slot = st.session_state.get(SHARE_SLOT_KEY)
    if slot is None:
        return
    with slot.container():
        st.caption("**Share this view** (copy the link; it opens the same inputs):")
        st.code(share_url(), language=None, wrap_lines=True)


def render_sidebar() -> torch.device:
    """Draw the shared sidebar and return the device this page should compute on."""
    # Every page draws this sidebar first, so the server applies its thread count and its limit
    # on concurrent page runs here (both once per process), not when a module is imported.
    configure_serving_threads()
    install_run_slots()
    with st.sidebar:
        _navigation()
        st.divider()
        has_cuda = cuda_available()
        force_cpu = st.toggle(
            "Force CPU",
            key=FORCE_CPU_KEY,
            value=False,
            disabled=not has_cuda,
            help="Compute on the CPU even when a CUDA GPU is available."
            if has_cuda
            else "No CUDA GPU is visible to PyTorch here, so everything runs on the CPU.",
        )
        device = pick_device(force_cpu=force_cpu)
        st.caption(f"**Computing on:** {describe_device(device)}")
        if PRESENT_KEY not in st.session_state:
            st.session_state[PRESENT_KEY] = st.query_params.get(PRESENT_PARAM) in ("1", "true")
        st.toggle(
            "Presentation mode",
            key=PRESENT_KEY,
            help="Larger text and figures for a projector; the paper's key idea on top. "
            "A link with ?present=1 opens a page this way.",
        )
        page = _current_page_path()
        tour = tour_for(page)
        if tour is not None:
            _tour_picker(tour)
        st.session_state[SHARE_SLOT_KEY] = st.empty()
        st.caption(
            "Models are shared read-only by every visitor; nothing you type is stored or "
            "changes them."
        )
    if presentation_mode():
        # the controls fold away for the projector (the arrow at the top left opens them)
        st.set_page_config(initial_sidebar_state="collapsed")
        st.query_params[PRESENT_PARAM] = "1"
        # a constant style sheet: no visitor text ever reaches this HTML
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
        idea = key_idea(page)
        if idea:
            st.info(idea, icon="💡")
    elif PRESENT_PARAM in st.query_params:
        del st.query_params[PRESENT_PARAM]
    if tour is not None:
        _tour_banner(tour)
    refresh_share_link()
    return device
