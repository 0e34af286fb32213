"""nlpviz landing page: what this is, the papers as a gallery, the device, how to bring text."""

from __future__ import annotations

import streamlit as st

from nlpviz import registry
from nlpviz.data.user_input import MAX_BATCH_ITEMS, MAX_CHARS, MAX_UPLOAD_MB
from nlpviz.device import describe_device
from nlpviz.papers import PAPERS
from nlpviz.ui.sidebar import render_sidebar

NUMBER_WORDS = (
    "No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen",
    "Nineteen", "Twenty",
)  # fmt: skip
papers = len(registry.paper_keys())

st.set_page_config(page_title="nlpviz", page_icon="🔬", layout="wide")
device = render_sidebar()

st.title("nlpviz: watch NLP models think")
st.markdown(
    f"{NUMBER_WORDS[papers] if papers < len(NUMBER_WORDS) else papers} landmark papers, "
    "one model family each, trained by nlpviz on open data and opened "
    "up for any text you type or upload: the filters a CNN fired, the gates of a recurrent cell, "
    "the path a CRF chose, the heads a Transformer attended with, and attributions beside them. "
    "Every model states its held-out accuracy next to the paper's figure, and says so when our "
    "miniature does not reproduce the paper's claim."
)

st.subheader("The papers")
columns = st.columns(3)
for index, paper in enumerate(PAPERS):
    with columns[index % 3].container(border=True):
        st.markdown(f"**{paper.title}**")
        st.caption(f"{paper.authors}, {paper.year}")
        st.write(paper.idea)
        for path, label in paper.pages:
            st.page_link(path, label=label, icon="➡️")
        if not paper.pages:
            st.caption("Coming")

st.subheader("Across the models")
with st.container(border=True):
    st.markdown(
        "**Attribution workbench.** One text through every classifier at once (the Kim CNNs, "
        "HAN and its flat baseline, MiniLM with a LoRA adapter, the taggers per token) and "
        "six attribution methods from Captum (Integrated Gradients, Saliency, Input x "
        "Gradient, GradientSHAP, Occlusion, Feature Ablation), each scored by how "
        "faithful it is: deletion and insertion curves, comprehensiveness and sufficiency."
    )
    st.page_link("pages/12_Attribution.py", label="Attribution workbench", icon="➡️")

st.subheader("Bring your own text")
st.markdown(
    f"- **Type or paste** into the text box of any page (up to {MAX_CHARS:,} characters; "
    "longer text is cut and the page says so). Emoji, other scripts and HTML are fine: HTML is "
    "shown as text, and words a model never saw are marked as unknown.\n"
    f"- **Upload** a `.txt` file with one text per line, or a `.csv` file with a `text` column "
    f"(up to {MAX_UPLOAD_MB} MB; the first {MAX_BATCH_ITEMS:,} items are read). You get a table of "
    "predictions to download as CSV.\n"
    "- **Share a view:** the page's address carries its main inputs, so a copied link opens the "
    "same text and settings.\n"
    "- **Export:** every chart has a camera button (PNG) and a button to download its numbers "
    "as CSV."
)
st.caption(
    f"Computing on {describe_device(device)}. When a CUDA GPU is present the sidebar has a "
    "switch to force the CPU."
)
