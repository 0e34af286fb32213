"""Every page, every link parameter it reads, fed what a hostile visitor would put in a link.

A shared link is typed by anyone, and the page runs on a server many people share. For each page
and each query parameter it reads (the table below; a second test scans the page's source so the
table cannot fall behind), the page is opened through AppTest with a list of hostile values:
unicode digits (``int()`` reads ``'٣'``; ``str.isdigit()`` says yes to ``'²'`` and ``int()`` then
fails), a markdown link and image (a phishing link, or an address every visitor's browser would
fetch), HTML, LaTeX (``$x$``), a 5,000-character string, negative, NaN, infinite and overflowing
numbers. No run may raise, and no message, caption or markdown block that the page does not show
anyway (its own formulas use ``$x$`` too) may carry the link, image, tag or formula unescaped.

To keep the run short, one run sets every parameter of a page (in one view of the page) to the
same hostile value, so each page needs one run per value and view, not one per parameter.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nlpviz.ui.url_numbers import parse_url_float, parse_url_int
from nlpviz.viz.common import escape_markdown

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300

LINK = "[Session expired, log in again](https://evil.example/login)"
IMAGE = "![x](http://127.0.0.1:9/r.png)"
HOSTILE = (
    "²",
    "٣",
    LINK,
    IMAGE,
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "9" * 5_000,
    "-1",
    "-999999",
    "NaN",
    "inf",
    "1e309",
    "$x$",
)

# Every page reads these two through the shared sidebar.
SIDEBAR = ["tour", "present"]

# page -> [(the view's fixed parameters, the parameters that view reads)]
PAGES: dict[str, list[tuple[dict[str, str], list[str]]]] = {
    "app.py": [({}, SIDEBAR)],
    "pages/1_Kim_CNN.py": [({}, ["task", "variant", "text", "word", "tab", *SIDEBAR])],
    "pages/2_HAN.py": [({}, ["task", "text", "tab", *SIDEBAR])],
    "pages/3_Tagger.py": [({}, ["task", "variant", "text", "tab", *SIDEBAR])],
    "pages/4_Attention.py": [
        ({}, ["model", "path", "text", "layer", "head", "scale", "shape", *SIDEBAR])
    ],
    "pages/5_Masked_LM.py": [({}, ["text", "word", "model", "tab", *SIDEBAR])],
    "pages/6_DeBERTa.py": [({}, ["text", "layer", "head", "word", *SIDEBAR])],
    "pages/7_DeBERTaV3.py": [
        ({}, ["mode", "text", "rate", "seed", "layer", "head", *SIDEBAR]),
        ({"mode": "typed"}, ["original", "typed"]),
    ],
    "pages/8_Positional_Encoding.py": [({}, ["n", "d", "pos", "k", "text", *SIDEBAR])],
    "pages/9_LoRA.py": [({}, ["rank", "layer", "matrix", "seed", "text", "tab", *SIDEBAR])],
    "pages/10_Translation.py": [
        ({}, ["view", "beam", "alpha", "model", "text", *SIDEBAR]),
        ({"view": "space"}, ["sentences"]),
        ({"view": "attention"}, ["kind", "layer", "head"]),
    ],
    "pages/11_Gated_RNN.py": [
        ({}, ["view", *SIDEBAR]),
        ({"view": "music"}, ["piece", "cell"]),
        ({"view": "text"}, ["text", "cell", "gate", "order", "unit"]),
    ],
    "pages/12_Attribution.py": [
        ({}, ["source", "text", "models", "methods", "baseline", "steps", "tab", *SIDEBAR])
    ],
}

# Where a page (or a helper it calls) reads a link parameter by name.
READS = [
    r"query_params\.get\(\s*[\"'](\w+)[\"']",
    r"query_params\[\s*[\"'](\w+)[\"']\s*\]",
    r"init_from_query\([^,()]+,\s*[\"'](\w+)[\"']",
    r"init_index_from_query\([^,()]+,\s*[\"'](\w+)[\"']",
    r"url_(?:int|float)\(\s*[\"'](\w+)[\"']",
    r"int_setting\([^,()]+,\s*[\"'](\w+)[\"']",
]
# What a markdown element must never contain: the hostile link or image live, an HTML tag, math.
UNESCAPED = re.compile(
    r"(?<!\\)\]\(\s*https?:"
    r"|(?<![\\&])<\s*(?:script|img)\b"
    r"|(?<!\\)\$x\$"
)
MARKDOWN_KINDS = (
    "markdown",
    "caption",
    "info",
    "warning",
    "error",
    "success",
    "title",
    "header",
    "subheader",
    "toast",
)


def params_read(source: str) -> set[str]:
    found = {name for pattern in READS for name in re.findall(pattern, source)}
    # widgets.text_input (imported as itself or under another name) reads ?text=
    names = {"text_input", *re.findall(r"import text_input as (\w+)", source)}
    if any(re.search(rf"\b{name}\(\s*P\b", source) for name in names):
        found.add("text")
    if "render_sidebar()" in source:
        found.update(SIDEBAR)
    if re.search(r"\bpage_tabs\(", source):  # widgets.page_tabs reads ?tab=
        found.add("tab")
    return found


def rendered_markdown(at: AppTest) -> list[str]:
    return [str(e.value) for kind in MARKDOWN_KINDS for e in getattr(at, kind, [])]


def test_the_table_covers_every_parameter_each_page_reads():
    assert set(PAGES) == {"app.py"} | {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    for page, views in PAGES.items():
        listed = {name for fixed, names in views for name in [*fixed, *names]}
        read = params_read((ROOT / page).read_text(encoding="utf-8"))
        assert read <= listed, f"{page} reads {sorted(read - listed)}, missing from PAGES"
        assert listed <= read, f"{page}: PAGES lists {sorted(listed - read)}, not read there"


def test_the_source_scan_finds_reads_through_every_helper():
    source = (
        'st.query_params.get("a")\ninit_from_query(\n    f"{P}_b",\n    "b", "x")\n'
        'init_index_from_query(f"{P}_c", "c", 3)\nurl_int("d", 1, 1, 2)\n'
        'url_float(\'e\', 0.1, 0, 1)\nint_setting(f"{P}_f", "f", 1, 2, 1, 1)\n'
        "text_input(P, EXAMPLES)\nrender_sidebar()\n"
    )
    assert params_read(source) == {"a", "b", "c", "d", "e", "f", "text", *SIDEBAR}


def test_escaped_markup_is_recognised_and_live_markup_is_caught():
    for value in (LINK, IMAGE, "<script>alert(1)</script>", "<img src=x>", "$x$"):
        assert UNESCAPED.search(f"The link's rank {value} is odd")
        assert not UNESCAPED.search(f"The link's rank {escape_markdown(value)} is odd")


@pytest.mark.parametrize("raw", HOSTILE)
def test_the_url_number_parser_refuses_or_clamps_every_hostile_value(raw):
    number, note = parse_url_int(raw, 4, 1, 16, "beam")
    assert isinstance(number, int) and 1 <= number <= 16
    assert note and not UNESCAPED.search(note) and len(note) < 300
    value, note = parse_url_float(raw, 0.6, 0.0, 1.0, "alpha")
    assert 0.0 <= value <= 1.0 and note and not UNESCAPED.search(note)


@pytest.mark.parametrize(
    ("raw", "expected"), [("8", 8), (" 12 ", 12), ("+3", 3), ("0", 1), ("99", 16), ("", 4)]
)
def test_the_url_number_parser_reads_plain_numbers(raw, expected):
    assert parse_url_int(raw, 4, 1, 16, "beam").value == expected
    assert parse_url_float("0.25", 0.6, 0.0, 1.0).value == 0.25


CASES = [
    pytest.param(page, fixed, names, id=f"{Path(page).stem}-{'-'.join(names[:3])}")
    for page, views in PAGES.items()
    for fixed, names in views
]


@pytest.mark.parametrize(("page", "fixed", "names"), CASES)
def test_hostile_link_values_neither_crash_nor_render_as_markup(page, fixed, names):
    # the page's own formulas (its $x$) are not a visitor's: only new text is judged
    baseline = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for name, given in fixed.items():
        baseline.query_params[name] = given
    baseline.run()
    assert not baseline.exception, baseline.exception
    own = set(rendered_markdown(baseline))
    problems = []
    for value in HOSTILE:
        at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
        for name, given in {**{n: value for n in names}, **fixed}.items():
            at.query_params[name] = given
        at.run()
        shown = repr(value[:30])
        if at.exception:
            problems.append(f"{shown}: {at.exception[0].value}")
            continue
        problems += [
            f"{shown}: unescaped in {text[:200]!r}"
            for text in rendered_markdown(at)
            if text not in own and UNESCAPED.search(text)
        ]
    assert not problems, "\n".join(problems)
