"""Guided tours: a few steps per paper that set a page's inputs and say what to notice.

Each step is the page's own link parameters (the same ones a shared link carries) and a short
text. What a step says was read off the models nlpviz trained; ``expect`` holds phrases the page
must show after the step's inputs are set, and tests/test_tours.py checks them, so a tour that a
retrained model no longer supports fails the tests instead of misleading a class.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TourStep:
    title: str
    say: str  # markdown: what to look at and what to notice
    params: dict[str, str]  # the page's link parameters for this step
    expect: tuple[str, ...] = field(default=())  # phrases the page shows after this step


@dataclass(frozen=True)
class Tour:
    page: str  # file name under pages/
    prefix: str  # the page's widget-key prefix
    title: str
    steps: tuple[TourStep, ...]


TOURS: dict[str, Tour] = {}


def add_tour(tour: Tour) -> None:
    if not 3 <= len(tour.steps) <= 5:
        raise ValueError(f"a tour has three to five steps; {tour.page} has {len(tour.steps)}")
    TOURS[tour.page] = tour


def tour_for(page_file: str | None) -> Tour | None:
    if not page_file:
        return None
    return TOURS.get(page_file.rsplit("/", 1)[-1])


# ---- the tours ---------------------------------------------------------------------------------
# Numbers quoted below were read off the committed checkpoints; tests/test_tours.py checks them.

add_tour(
    Tour(
        page="1_Kim_CNN.py",
        prefix="kim",
        title="What a CNN reads in a review",
        steps=(
            TourStep(
                "A clear review",
                "The multichannel CNN is sure this is **fresh**. Scroll to the feature maps: "
                "only a handful of filters fire at all, and the n-gram table shows which "
                "trigram each strong filter kept, almost always one containing *masterpiece*.",
                {
                    "task": "mr",
                    "variant": "multichannel",
                    "text": "the movie is a masterpiece of quiet grace",
                },  # fmt: skip
                ("CNN-multichannel predicts fresh",),
            ),
            TourStep(
                "One word of negation",
                "Add *not*: the prediction flips to **rotten**, but with far less confidence "
                "(about 64%). Max-pooling keeps n-grams, so the model must have a filter for "
                "*not a masterpiece*; few filters fire, and the attribution bars show how much "
                "*not* carries.",
                {"task": "mr", "variant": "multichannel", "text": "the movie is not a masterpiece"},
                ("CNN-multichannel predicts rotten",),
            ),
            TourStep(
                "Random word vectors",
                "The same review through **CNN-rand**, whose word vectors were learned from "
                "scratch: still fresh, but look at the notes above the feature maps: far more "
                "filters fire (only 37 of 100 width-3 filters stay at zero, against 90 with "
                "pretrained vectors). Its activations are denser and harder to read.",
                {
                    "task": "mr",
                    "variant": "rand",
                    "text": "the movie is a masterpiece of quiet grace",
                },
                ("CNN-rand predicts fresh", "37 of 100 width-3 filters do not fire"),
            ),
        ),
    )
)
