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
    tab: str | None = None  # the label of the page's tab this step talks about (opened by it)


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
                "The multichannel CNN is sure this is **fresh**. The **Filter activations** tab "
                "(this step opens it) shows the feature maps: about a third of the width-3 "
                "filters fire at all, and the strongest filter of all kept the whole phrase "
                "*a masterpiece of quiet grace*.",
                {
                    "task": "mr",
                    "variant": "multichannel",
                    "text": "the movie is a masterpiece of quiet grace",
                },  # fmt: skip
                (
                    "CNN-multichannel predicts fresh",
                    "68 of 100 width-3 filters do not fire",
                    "fires hardest at **“a masterpiece of quiet grace”**",
                ),
                tab="Filter activations",
            ),
            TourStep(
                "One word of negation",
                "Add *not*: the prediction flips to **rotten**, but only just (51%). "
                "Max-pooling keeps n-grams, so only a filter that spans *not* can see it; the "
                "strongest one here kept *movie is not a*, and the attribution bars show how "
                "much *not* carries.",
                {"task": "mr", "variant": "multichannel", "text": "the movie is not a masterpiece"},
                (
                    "CNN-multichannel predicts rotten",
                    "P(rotten) = 50.8%",
                    "fires hardest at **“movie is not a”**",
                ),
                tab="Attribution (IG)",
            ),
            TourStep(
                "Random word vectors",
                "The same review through **CNN-rand**, whose word vectors were learned from "
                "scratch: still fresh, but look at the notes above the feature maps: more "
                "filters fire (51 of 100 width-3 filters stay at zero, against 68 with "
                "pretrained vectors). Its activations are denser and harder to read.",
                {
                    "task": "mr",
                    "variant": "rand",
                    "text": "the movie is a masterpiece of quiet grace",
                },
                ("CNN-rand predicts fresh", "51 of 100 width-3 filters do not fire"),
                tab="Filter activations",
            ),
        ),
    )
)

add_tour(
    Tour(
        page="2_HAN.py",
        prefix="han",
        title="Which sentences and words a HAN reads",
        steps=(
            TourStep(
                "One sentence",
                "A one-sentence drug review: the HAN is sure it is **positive**. With a single "
                "sentence the red bar is 1 by definition, so only the blue word attention says "
                "anything: about half of it (0.53) goes to *works*.",
                {"task": "drugs", "text": "It works great and I sleep well."},
                ("HAN predicts positive", "P = 99.7%"),
            ),
            TourStep(
                "Two sentences, one chosen",
                "Two sentences that pull in opposite directions. The sentence attention (red "
                "bars) puts 0.80 on *I had headaches and felt dizzy* and only 0.20 on the "
                "better anxiety, and the HAN follows the first: **negative**.",
                {
                    "task": "drugs",
                    "text": "I had headaches and felt dizzy. My anxiety is much better now.",
                },
                ("HAN predicts negative", "P = 83.8%"),
            ),
            TourStep(
                "A mixed review",
                "Praise first, then a complaint. The sentence attention gives 0.76 to *It works "
                "great* and 0.14 to *The side effects are terrible*; the verdict is "
                "**positive**. Inside the first sentence, *works* takes most of the word "
                "attention again.",
                {
                    "task": "drugs",
                    "text": "It works great. I sleep well. The side effects are terrible.",
                },
                ("HAN predicts positive", "P = 99.6%"),
            ),
            TourStep(
                "Where the miniature goes wrong",
                "The complaint alone is read as **positive**. Open **Attention vs "
                "attribution**: Integrated Gradients says *side* pushed the probability of "
                "positive up most (+0.39), while *terrible* pushed it down only a little "
                "(−0.06). Our HAN learned from 540 reviews; *terrible* did not become a strong "
                "cue.",
                {"task": "drugs", "text": "The side effects are terrible."},
                ("HAN predicts positive", "Spearman ρ (attention, |IG|) +0.60"),
            ),
            TourStep(
                "Does the hierarchy pay off?",
                "Open **Compare models**. On our 379 test reviews a plain average of word "
                "vectors is exactly as accurate as the HAN, and predicting the majority class "
                "alone already gets 65.4%. The paper (Table 2) puts HAN ahead of flat models "
                "on six large review corpora; our small miniature does not reproduce that.",
                {"task": "drugs", "text": "The side effects are terrible."},
                (
                    "HAN beats every flat model: not reproduced",
                    "HAN 71\\.5% vs averaged embeddings 71\\.5%\\: gap ±0\\.0 points",
                ),
            ),
        ),
    )
)

add_tour(
    Tour(
        page="3_Tagger.py",
        prefix="tag",
        title="What the CRF adds to a tagger",
        steps=(
            TourStep(
                "The CRF repairs the tags",
                "The BLSTM-CNN-CRF finds *New York*, *Taylor Swift* and *Madison Square "
                "Garden* (the tags table). Open the **CRF** tab: the emissions alone would "
                "start every entity with an I- tag, which BIO forbids after O, and would make "
                "*Square Garden* a facility inside a place. Viterbi changes five tags.",
                {
                    "task": "wnut-ner",
                    "variant": "blstm-cnn-crf",
                    "text": "Just landed in New York with @sarah for the Taylor Swift concert "
                    "at Madison Square Garden !!",
                },
                ("*Taylor* I\\-person → B\\-person", "*Square* I\\-facility → I\\-geo\\-loc"),
                tab="CRF: emissions, transitions, lattice",
            ),
            TourStep(
                "Without the CRF",
                "The same tweet through BLSTM-CNN, which tags each token on its own. In the "
                "table, *York* becomes I-facility right after *New* B-geo-loc, and *Madison "
                "Square Garden* is B-geo-loc I-facility I-facility: spans whose types "
                "disagree, which the CRF's transition scores rule out.",
                {
                    "task": "wnut-ner",
                    "variant": "blstm-cnn",
                    "text": "Just landed in New York with @sarah for the Taylor Swift concert "
                    "at Madison Square Garden !!",
                },
                ("BLSTM-CNN has no CRF",),
            ),
            TourStep(
                "Names it has never seen",
                "None of the three made-up names is in the vocabulary, so each is read as the "
                "same unknown word. Only the CRF variant still tags *Brindlemoor* as a place "
                "(the table's other columns say O), and no variant finds the person *Zorblax "
                "Quintavian*. The **Characters** tab shows which letters the CNN picked.",
                {
                    "task": "wnut-ner",
                    "variant": "blstm-cnn-crf",
                    "text": "Zorblax Quintavian flew to Brindlemoor on Tuesday.",
                },
                ("Brindlemoor, Quintavian, Zorblax", "*Brindlemoor* I\\-geo\\-loc → B\\-geo"),
                tab="Characters",
            ),
            TourStep(
                "The ablation, ours against the paper",
                "On this news sentence only the CRF variant finds *Paris* and the whole name "
                "*Angela Merkel*. Open **Model cards**: on the WNUT-16 test tweets the CRF "
                "adds far more than in the paper (11.4 points of entity F1, against 1.85 on "
                "CoNLL-2003), while our character CNN does not help at all.",
                {
                    "task": "wnut-ner",
                    "variant": "blstm-cnn-crf",
                    "text": "The German chancellor Angela Merkel visited Paris and spoke with "
                    "Emmanuel Macron.",
                },
                ("beats BLSTM-CNN by 11.4 points", "BLSTM-CNN trails BLSTM by 1.7 points"),
            ),
        ),
    )
)

_ANIMAL = "The animal didn't cross the street because it was too tired."
add_tour(
    Tour(
        page="4_Attention.py",
        prefix="attn",
        title="Heads that look back, forward, and at a pronoun's noun",
        steps=(
            TourStep(
                "A head that looks back",
                "The real all-MiniLM-L6-v2. In layer 1, head 3 every token puts all of its "
                "attention on the token just before it: the big map is one line below the "
                "diagonal, its entropy is 0 and the *previous* share is 100%. Find its "
                "thumbnail in the grid at the top.",
                {
                    "model": "all-MiniLM-L6-v2 (pretrained)",
                    "layer": "1",
                    "head": "3",
                    "text": _ANIMAL,
                },
                ("previous 100%", "entropy 0.00"),
            ),
            TourStep(
                "*it* finds the animal",
                "Layer 4, head 2. Read the row of *10·it*: 0.68 of its attention goes to "
                "*animal*, the next largest share (0.10) to [CLS]. (Layer 6, head 12 does the "
                "same, 0.67.) "
                "More than half of this head's attention goes to [CLS] and [SEP].",
                {
                    "model": "all-MiniLM-L6-v2 (pretrained)",
                    "layer": "4",
                    "head": "2",
                    "text": _ANIMAL,
                },
                ("special 53%",),
            ),
            TourStep(
                "Change one word",
                "Now the street is too *wide*, so *it* means the street. The head does not "
                "follow: *it* still gives more to *animal* (0.28) than to *street* (0.12), and a "
                "third to [CLS]: whatever it does, it does not resolve the reference from the "
                "meaning. Try the trophy and suitcase examples: its *it* picks *trophy* whether "
                "the trophy is too large or the suitcase too small.",
                {
                    "model": "all-MiniLM-L6-v2 (pretrained)",
                    "layer": "4",
                    "head": "2",
                    "text": "The animal didn't cross the street because it was too wide.",
                },
                ("16 tokens",),
            ),
            TourStep(
                "Our DeBERTaV3 miniature",
                "nlpviz's own 4-layer DeBERTaV3 discriminator learned positional heads too: in "
                "layer 2, head 2 each token sends 91% of its attention to the *next* token, "
                "and in layer 4, head 3 all of it to the *previous* one.",
                {
                    "model": "DeBERTaV3 discriminator (nlpviz miniature)",
                    "layer": "2",
                    "head": "2",
                    "text": _ANIMAL,
                },
                ("next 91%", "4 layers × 4 heads"),
            ),
            TourStep(
                "Our BERT miniature",
                "Trained for 21,000 steps, the BERT miniature grew positional heads of its own: "
                "in layer 1, head 1 each token sends 94% of its attention to the *previous* "
                "token (head 4 of the same layer sends 93% to the next one). In the head summary "
                "map these two are the sharpest heads; all of layers 3 and 4 stay spread out "
                "(entropy above 1.8 nats).",
                {
                    "model": "BERT (nlpviz miniature)",
                    "layer": "1",
                    "head": "1",
                    "text": _ANIMAL,
                },
                ("previous 94%",),
            ),
        ),
    )
)

_SCHOOLS = "The government announced on Tuesday that it would spend more money on schools."
add_tour(
    Tour(
        page="5_Masked_LM.py",
        prefix="mlm",
        title="Four miniature encoders fill in a blank",
        steps=(
            TourStep(
                "A gap that needs a preposition",
                "The hidden word is *on*. Our RoBERTa miniature's first guess is *on* "
                "(76.6%), far ahead of every other preposition. Look at the other panels: all "
                "four put *on* first, DeBERTa at 81%, V3's generator at 76% and BERT, the least "
                "sure, at 41% with *that* second.",
                {"text": _SCHOOLS, "word": "3", "model": "roberta"},
                ("Explaining **“on”** (P = 76.6%) from RoBERTa",),
            ),
            TourStep(
                "What our BERT learned",
                "The same gap explained for BERT: *on* at 41%, *that* second. After 21,000 steps "
                "our BERT gets this gap right, but on the 60 everyday sentences of the cloze "
                "probe (**How the four compare**) the answer is in its top five only 15.0% of "
                "the time (RoBERTa 16.7%), although its first guess is a content word for 75% "
                "of them: these miniatures know which kind of word fits where, seldom which "
                "word. The table also gives 21.4% held-out masked-token accuracy for BERT.",
                {"text": _SCHOOLS, "word": "3", "model": "bert"},
                ("Explaining **“on”** (P = 41.1%) from BERT",),
            ),
            TourStep(
                "Static and dynamic masks",
                "Open **Static vs dynamic masks**. BERT's pipeline drew this sentence's masks "
                "once, so every epoch hides the same pieces; RoBERTa draws new masks each "
                "time the sentence comes round, so in 4 epochs it is asked about 4 different "
                "sets of pieces.",
                {"text": _SCHOOLS, "word": "1", "model": "roberta"},
                ("1 distinct mask pattern in 4 epochs", "4 distinct mask patterns in 4 epochs"),
            ),
            TourStep(
                "Two tokenizers, one emoji",
                "Look under **How each model splits your text**. The wordpiece vocabulary of "
                "BERT and the DeBERTas has no piece for the emoji or for *é*: both become "
                "[UNK] (in red). RoBERTa's byte-level BPE writes the emoji as four raw bytes "
                "and keeps *é*: more pieces, none unknown.",
                {"text": "We ate pizza 🍕 in a café.", "word": "2", "model": "roberta"},
                ("14 pieces, **2 unknown**", "**RoBERTa** (byte-level BPE): 17 pieces, no unknown"),
            ),
            TourStep(
                "Do the papers' orderings hold?",
                "**How the four compare** is open. On the shared yardstick, a linear sentiment "
                "probe on the frozen encoders, all four land between 61.7% and 64.2%. BERT and "
                "RoBERTa had the same 21,000 steps: RoBERTa 62.1% against BERT 64.2%, the wrong "
                "way round for the paper (though within the 3.8 points, two standard errors, "
                "that a gap must clear), so *RoBERTa > BERT* is not reproduced. The two "
                "DeBERTas had the same 10,500 steps: V3 61.7% against DeBERTa 62.3%, again the "
                "wrong way round and well inside the 3.8 points, so *DeBERTaV3 > DeBERTa* is not "
                "reproduced either. Trained for fewer steps than BERT and RoBERTa, the "
                "DeBERTas are not ranked against them.",
                {
                    "text": "The plot is thin, but the music and the photography are wonderful.",
                    "word": "3",
                    "model": "deberta",
                },
                (
                    "RoBERTa \\> BERT: not reproduced",
                    "gap −2\\.1 points, 2 standard errors = 3\\.8 points",
                    "DeBERTaV3 \\> DeBERTa: not reproduced",
                    "2 standard errors = 3\\.8 points",
                    "DeBERTa \\> RoBERTa:** cannot be judged here",
                ),
                tab="How the four compare",
            ),
        ),
    )
)

_STORE = "The new store opened beside the new mall, and the store drew bigger crowds."
add_tour(
    Tour(
        page="6_DeBERTa.py",
        prefix="deberta",
        title="Content, position, and which one a head follows",
        steps=(
            TourStep(
                "A head that follows distance",
                "Layer 3, head 2 of our DeBERTa miniature. In its attention map 14 of the 18 "
                "word rows look hardest at the *previous* token (0.62 of each row on "
                "average). In the term maps above, c2p and p2c draw that same line below the "
                "diagonal while c2c does not: this head is driven by relative position, not "
                "by the words.",
                {"text": _STORE, "layer": "3", "head": "2"},
                ("21 tokens in this window",),
            ),
            TourStep(
                "Position outweighs content",
                "Layer 3, head 4 is the mirror image: 11 of the 18 rows look hardest at the "
                "*next* token (0.39 on average). Now read the share map on the right: in "
                "every one of the 16 heads the content-to-content term c2c is at most 41% of "
                "the score; the two position terms carry the rest.",
                {"text": _STORE, "layer": "3", "head": "4"},
                ("relative distances in 64 buckets",),
            ),
            TourStep(
                "Exact when close, coarse when far",
                "The bucket matrix gives each pair of tokens one relative-position bucket. "
                "Up to 16 tokens apart every distance has its own bucket; 17 and 18 share "
                "one, 19 to 21 the next, and the curve beside it shows the buckets widening "
                "up to distance 128.",
                {"text": _STORE, "layer": "1", "head": "1"},
                ("exact within ±16, stretching to distance 128",),
            ),
            TourStep(
                "The enhanced mask decoder",
                "*store* is masked. With and without the absolute positions the decoder's "
                "top four are the same four words (*order*, *group*, *government*, *report*), "
                "only reordered, and *store* is in neither list: our small "
                "decoder hardly uses the absolute positions the paper adds for exactly this "
                "kind of sentence.",
                {"text": _STORE, "layer": "1", "head": "1", "word": "3"},
                ("The model sees *The new",),
            ),
            TourStep(
                "Ours against the paper",
                "After 10,500 steps in two stages our 4-layer miniature gets about one masked "
                "token in three right on held-out text, and a linear sentiment probe on its "
                "frozen vectors gets 62% of the test reviews right. "
                "The paper's ablation (Table 4) measures differences of a few tenths of a "
                "point at base size; one small model trained once cannot test them.",
                {"text": _STORE, "layer": "1", "head": "1"},
                ("our masked-LM accuracy (held out) 32.8%", "sentiment probe accuracy 62.3%"),
            ),
        ),
    )
)

_CHEF = "The chef tasted the soup, added some salt, and served it to the hungry guests."
add_tour(
    Tour(
        page="7_DeBERTaV3.py",
        prefix="debertav3",
        title="A detector of replaced tokens, and how good ours is",
        steps=(
            TourStep(
                "The generator corrupts, the discriminator judges",
                "With seed 4 the small generator masks two pieces and samples new ones: the "
                "*f* of *chef* becomes *tis*, which makes no word, and *guests* becomes "
                "*moment*. The discriminator flags the broken word (P = 0.61) but gives "
                "*moment* only 0.12.",
                {"mode": "corrupt", "text": _CHEF, "rate": "15", "seed": "4"},
                ("replaced tokens caught (P ≥ 0.5) 1 of 2", "masked but sampled back unchanged 0"),
            ),
            TourStep(
                "Plausible swaps slip through",
                "A news sentence with 30% masked. The generator's samples look like "
                "language (*made* for *announced*, *will* for *would*, *says* for *it*), and "
                "the discriminator catches none of the four replaced pieces: the highest, "
                "*says*, gets 0.24, and *Tuesday*, which was never touched, gets 0.16, as "
                "much as *made* and *will*.",
                {
                    "mode": "corrupt",
                    "text": "The government announced on Tuesday that it would spend more "
                    "money on rail lines.",
                    "rate": "30",
                    "seed": "5",
                },
                ("replaced tokens caught (P ≥ 0.5) 0 of 4",),
            ),
            TourStep(
                "Your own swap",
                "Now you write the corruption: *ate* became *drank*. A chef does not drink a "
                "meal, but our discriminator does not notice: *dr* gets P = 0.11 and *##ank* "
                "0.06, far under the 0.5 that counts as caught, and the highest score in the "
                "sentence goes to *me* of *meal* (0.17), which was never touched.",
                {
                    "mode": "typed",
                    "original": "The chef ate the meal.",
                    "typed": "The chef drank the meal.",
                },
                ("replaced tokens caught (P ≥ 0.5) 0 of 2",),
            ),
            TourStep(
                "Unusual is not wrong",
                "The same sentence left as it was: nothing is replaced and nothing is "
                "flagged, yet the real verb's first piece *at* gets 0.18, more than the "
                "swapped *dr* got. Part of what the discriminator scores is how unusual a "
                "piece looks, not only whether it fits; a swap that keeps the grammar is "
                "beyond our miniature.",
                {
                    "mode": "typed",
                    "original": "The chef ate the meal.",
                    "typed": "The chef ate the meal.",
                },
                ("kept tokens falsely flagged 0 of 9",),
            ),
            TourStep(
                "How good is our detector?",
                "Read the last section. Our discriminator's held-out accuracy (88.9%) is "
                "hardly above saying *original* everywhere, since only 12.1% of tokens are "
                "replaced; its AUC of 0.73 shows it does rank replaced tokens above kept "
                "ones, but weakly. GDES: the discriminator's own correction E_Δ (length "
                "0.48) is small next to the shared table E_G (1.02).",
                {"mode": "corrupt", "text": _CHEF, "rate": "15", "seed": "7"},
                ("already gets 87.9% accuracy", "RTD AUC (held out) 0.731"),
            ),
        ),
    )
)

add_tour(
    Tour(
        page="8_Positional_Encoding.py",
        prefix="pe",
        title="Sines and cosines that encode where a word stands",
        steps=(
            TourStep(
                "A counter at many speeds",
                "The table's leftmost pair of columns repeats every 6.3 positions, the "
                "rightmost barely moves (its wavelength is 54,410 positions). So each row "
                "is a pattern of its own, like a counter whose digits turn at many speeds.",
                {"n": "128", "d": "128", "pos": "10", "k": "5"},
                ("54,410 for the last",),
            ),
            TourStep(
                "Only the distance counts",
                "In the dot-product matrix every diagonal band has one colour: PE(pos)·PE(pos "
                "+ k) is 64 at k = 0, about 62.1 at k = 1 and 42.8 at k = 10, wherever pos "
                "is. The curves against k on the right lie on top of each other.",
                {"n": "128", "d": "128", "pos": "10", "k": "5"},
                ("Over all 128 positions, the dot products at the same offset differ",),
            ),
            TourStep(
                "Too few dimensions",
                "With d_model = 16 there are only 8 frequencies, and the dot product is no "
                "longer a measure of distance: two positions 20 apart (about 5.8) look more "
                "alike than two positions 10 apart (about 3.6).",
                {"n": "64", "d": "16", "pos": "10", "k": "5"},
                ("19,869 for the last",),
            ),
            TourStep(
                "A shift is a rotation",
                "At the paper's d_model = 512, moving from position 500 to 508 is one fixed "
                "matrix M_8 applied to PE(500): the two curves below coincide, the error is "
                "rounding only (far below 1e-12 in float64, about 1e-7 in float32), and M_8 "
                "is just 2×2 rotations on its diagonal.",
                {"n": "512", "d": "512", "pos": "500", "k": "8"},
                ("nonzero entries of M_8 1,024 of 262,144",),
            ),
            TourStep(
                "Your words",
                "*the* comes twice, at positions 0 and 3, and receives two different rows: "
                "row 0 is always [0, 1, 0, 1, …], the first word of every sentence gets it. "
                "The same word enters the model as two different vectors.",
                {"n": "128", "d": "128", "pos": "10", "k": "5", "text": "the dog chased the cat"},
                ("Words: the · dog · chased · the · cat",),
            ),
        ),
    )
)

_LORA = {"layer": "1", "matrix": "query", "seed": "1", "text": "The movie is not a masterpiece."}
add_tour(
    Tour(
        page="9_LoRA.py",
        prefix="lora",
        title="How small can the rank be? LoRA on the real MiniLM",
        steps=(
            TourStep(
                "Close to full fine-tuning, not level with it",
                "After three epochs the ranks average 81.2% (r = 1), 82.2% (r = 8) and 83.1% "
                "(r = 64) over two seeds, and r = 1 trains 9,986 numbers against 22.6 million. "
                "Full fine-tuning reaches 84.4% (the frozen probe 74.3%): 2.2 points above "
                "r = 8, where two standard errors are 0.7, so in our sweep no small rank quite "
                "matches it. The dev curve below the table shows how far off: 0.8 points.",
                {**_LORA, "rank": "1"},
                (
                    "matches full fine\\-tuning: not reproduced",
                    "full fine\\-tuning 84\\.4% vs LoRA r=8 82\\.2%\\: gap \\+2\\.2 points, 2 "
                    "standard errors = 0\\.7 points",
                    "(r=8) is 0.8 points behind full fine-tuning",
                ),
            ),
            TourStep(
                "What the update uses",
                "**Inside the update**, W_q of layer 1: the rank-64 update's singular values "
                "fall fast (the first is more than twice the third), so it leans on a few "
                "directions. Full fine-tuning's update (dashed; trained at a 67 times smaller "
                "learning rate, so compare shapes) is flat by comparison: its 10th singular "
                "value is still over 40% of its first.",
                {**_LORA, "rank": "64"},
                ("Spectrum of the update", "its learning rate is 67x smaller than LoRA's"),
                tab="Inside the update",
            ),
            TourStep(
                "Do ranks 8 and 64 agree?",
                "The subspace similarity (the paper's Figure 3): the top direction of the r = 8 "
                "adapter lies 57% inside the 64 directions of r = 64, where a random direction "
                "would give 17%. Yet the two single top directions overlap only 0.25: the "
                "shared part is spread over a few directions.",
                {**_LORA, "rank": "8"},
                ("phi(1, 64): r=8's top direction inside r=64's span 0.57",),
                tab="Inside the update",
            ),
            TourStep(
                "Amplification",
                "**Inside the update**, Section 7.3's question. At r = 1 the factor is 152: large"
                " at small rank, as the paper found. It falls as the rank grows (7.5 at r = 8) "
                "and is below 1 at r = 64. But read the bars before the paper's story: W "
                "projected on the rank-1 direction (0.066) is no larger than on a random one "
                "(0.087), so here the big factor says that dW points where W is weak, not that it"
                " boosts a direction W already has.",
                {**_LORA, "rank": "1"},
                ("amplification at r=1 151.71x",),
                tab="Inside the update",
            ),
            TourStep(
                "A rank-1 update that learned *not*",
                "**Try an adapter** on *The movie is not a masterpiece.* The frozen MiniLM "
                "with a linear probe is torn (P(fresh) 48.1%): its sentence features alone "
                "barely tell. The rank-1 adapter, 9,986 trained numbers, reads the negation: "
                "rotten, with P(fresh) 14.1%.",
                {**_LORA, "rank": "1"},
                (
                    "LoRA r=1 (seed 1) predicts rotten",
                    "Frozen MiniLM + probe (seed 1) predicts rotten",
                ),
                tab="Try an adapter",
            ),
        ),
    )
)

_NOT_MASTERPIECE = "The movie is not a masterpiece."
add_tour(
    Tour(
        page="12_Attribution.py",
        prefix="attr",
        title="What did each model rely on, and can we trust the answer?",
        steps=(
            TourStep(
                "Two models, one sentence",
                "Kim's CNN calls this sentence fresh, MiniLM with a rank-8 LoRA adapter "
                "rotten. Integrated Gradients shows that both read *not* as negative and "
                "*masterpiece* as positive, but weigh them differently: in the CNN "
                "*masterpiece* wins (+0.74 toward fresh, *not* −0.21), in MiniLM *not* wins "
                "(+0.79 toward rotten, *masterpiece* −0.46).",
                {
                    "text": _NOT_MASTERPIECE,
                    "models": "kim-cnn-multichannel-mr,lora-r8-s1",
                    "methods": "ig",
                },
                ("explains its class: **fresh** (P = 0.873)", "explains its class: **rotten**"),
            ),
            TourStep(
                "Which explanation to trust?",
                "Three methods on MiniLM. Each cell is tested by deleting its top tokens: "
                "with Integrated Gradients' ranking the probability falls by 0.61 on "
                "average, with Occlusion's by 0.34, and with Input x Gradient's it even rises "
                "a little (−0.10); keeping just Input x Gradient's top two tokens loses about "
                "half of it (0.49). Here IG is the faithful one, Input x Gradient is not.",
                {"text": _NOT_MASTERPIECE, "models": "lora-r8-s1", "methods": "ig,ixg,occlusion"},
                ("P drops by 0.340", "P drop as top words go (AOPC del) 0.609"),
            ),
            TourStep(
                "Integrated Gradients needs its steps",
                "The same cell with only 4 integration steps. IG's scores should add up to "
                "F(x) − F(baseline); with 4 steps they miss it by 0.67 (the Δ under the cell). "
                "Even the default 20 steps miss by 0.07 on this adapter: slide the steps up "
                "until the Δ is small before trusting the scores.",
                {"text": _NOT_MASTERPIECE, "models": "lora-r8-s1", "methods": "ig", "steps": "4"},
                ("IG error (Δ) -6.7e-01",),
            ),
            TourStep(
                "A news outlet from one word",
                "Our HAN and flat BiGRU both give this sentence to TASS with near certainty, "
                "and IG puts by far the largest score on *moscow*: a place name standing in "
                "for the outlet. On the **Agreement** tab, the HAN's attention agrees with "
                "IG only partly (Spearman ρ 0.55).",
                {
                    "text": "The minister met the prime minister in Moscow on Monday to "
                    "discuss gas supplies.",
                    "models": "han-news,flat-gru-news",
                    "methods": "ig,occlusion",
                },
                (
                    "explains its class: **tass** (P = 0.969)",
                    "explains its class: **tass** (P = 0.997)",
                ),
                tab="Agreement",
            ),
            TourStep(
                "A full stop that flips the CNN",
                "Kim's CNN alone, with two methods. IG gives the final full stop a tiny "
                "score *against* fresh (−0.02); Occlusion, which blanks three tokens at a "
                "time, gives it +0.84. Now delete the '.' in the text box: the CNN flips to "
                "rotten (0.51). Each method answers its own question, and neither asks what "
                "adding the stop did.",
                {
                    "text": _NOT_MASTERPIECE,
                    "models": "kim-cnn-multichannel-mr",
                    "methods": "ig,occlusion",
                },
                ("explains its class: **fresh** (P = 0.873)", "P drops by 0.587"),
            ),
        ),
    )
)

add_tour(
    Tour(
        page="11_Gated_RNN.py",
        prefix="grnn",
        title="Gated units on Bach chorales: do the gates pay off?",
        steps=(
            TourStep(
                "Three cells, one budget",
                "A plain tanh RNN, a GRU and an LSTM, each with about 20,000 parameters, "
                "trained on the same chorales. On the held-out chorales the LSTM is best "
                "(9.09 nats per frame), the tanh RNN second (9.16), the GRU last (9.20). The "
                "paper's GRU on its JSB chorales (8.54, Table 2) came out best; at our size "
                "that is not reproduced.",
                {"view": "curves"},
                (
                    "On the Bach chorales, the gated cells beat the tanh RNN: not reproduced",
                    "GRU 9\\.202 vs tanh RNN 9\\.161",
                    "LSTM 9\\.087 vs tanh RNN 9\\.161",
                ),
            ),
            TourStep(
                "One chorale up close",
                "A held-out chorale, BWV 289. The squares are the notes Bach wrote, the "
                "shading the GRU's predicted probability of each pitch at each quarter note. "
                "On this piece the LSTM is again best and the GRU last.",
                {"view": "music", "piece": "bach/bwv289", "cell": "gru"},
                ("**tanh RNN** 10.11 · **GRU** 10.22 · **LSTM** 9.93",),
            ),
            TourStep(
                "The winner changes with the piece",
                "BWV 184.5: now the GRU is best and the LSTM last. Across our six held-out "
                "chorales the LSTM wins three, the GRU two and the tanh RNN one: the gaps "
                "between the cells are smaller than those between pieces.",
                {"view": "music", "piece": "bach/bwv184.5", "cell": "gru"},
                ("**tanh RNN** 9.51 · **GRU** 9.45 · **LSTM** 9.78",),
            ),
            TourStep(
                "What the gates do",
                "Back to BWV 289, the gate maps. Most of the GRU's 53 units keep almost "
                "nothing of their old state (update gate z near 0): they are rewritten at "
                "every quarter note. One unit keeps about 94% and carries memory. The LSTM's "
                "forget gates sit much higher, most units keeping well over half of their cell.",
                {"view": "music", "piece": "bach/bwv289", "cell": "gru"},
                ("Rows are sorted by how much a unit changes",),
            ),
            TourStep(
                "Gates over text",
                "The same three cells as character-level models of news text. On this "
                "sentence the GRU needs the fewest bits per character. Below, unit 17 of the "
                "LSTM's forget gate drawn over the text: about 0.7 inside words, near 0 at "
                "every one of the 26 spaces, where it wipes its memory cell. But it also "
                "closes at 17 other characters: both commas, both brackets, the full stop and "
                "12 letters. A unit rarely does one clean thing.",
                {
                    "view": "text",
                    "cell": "lstm",
                    "gate": "forget",
                    "unit": "17",
                    "text": "The minister said on Tuesday that the talks would continue next "
                    'week, but opposition leaders called the plan "too little, too late" (and '
                    "asked for a vote).",
                },
                ("**tanh RNN** 1.81 · **GRU** 1.76 · **LSTM** 1.91",),
            ),
        ),
    )
)

_OLD_MAN = "She gave the old man a book about the war."
add_tour(
    Tour(
        page="10_Translation.py",
        prefix="tr",
        title="Four translators, a beam, and where attention looks",
        steps=(
            TourStep(
                "Four translators, one sentence",
                "Four miniatures trained on the same 66,816 English→Spanish pairs, whose "
                "Spanish comes from the rule-based translator apertium. For *I love this "
                "movie.* the Transformer, the LSTM with attention and the LSTM that reads the "
                "source reversed write *Quiero esta película.*, the plain LSTM *Quiero mi "
                "familia.* (I want my family). On the "
                "807 held-out pairs the Transformer agrees with apertium best (BLEU 39.8), "
                "ahead of the LSTM with attention (34.0) by more than two standard errors of "
                "the difference, so *The Transformer beats recurrent models* is reproduced. "
                "Without attention the LSTMs stay under BLEU 4: one vector is too small a "
                "summary of a sentence of up to 48 pieces.",
                {"view": "translate", "text": "I love this movie.", "beam": "4"},
                (
                    "**The Transformer beats recurrent models: reproduced**",
                    "ours train on 66,816 short apertium pairs",
                    "Transformer BLEU 39\\.79 vs LSTM \\+ attention 34\\.00",
                ),
            ),
            TourStep(
                "Beam search finds a better translation",
                "The Transformer's search tree for a longer sentence. Greedy decoding commits "
                "to *Dar* (to give) and ends with a score of −6.7; a beam of 4 keeps other "
                "branches alive and returns *Le dio el hombre viejo un libro sobre la "
                "guerra.* (−4.9): good Spanish, which may drop *She* and says *le* (to him).",
                {"view": "beam", "model": "translate-transformer", "text": _OLD_MAN, "beam": "4"},
                ("Beam 4 -4.940", "Greedy (beam 1) -6.676"),
            ),
            TourStep(
                "Where attention looks",
                "Cross-attention of the Transformer, layer 2, head 2: each Spanish piece "
                "looks at its English word, *hombre* at *man* and *viejo* at *old*, so the "
                "line bends where Spanish puts the adjective after the noun. The LSTM with "
                "attention (above) draws the same bend and stumbles only at the start, "
                "writing *Decho* for *She gave*.",
                {
                    "view": "attention",
                    "kind": "cross",
                    "layer": "2",
                    "head": "2",
                    "text": _OLD_MAN,
                    "beam": "4",
                },
                ("Translation: Le dio el hombre viejo un libro sobre la guerra.",),
            ),
            TourStep(
                "The papers' other claims",
                "Read **Do our miniatures reproduce the papers' claims?** Reversing the source "
                "lowers the plain LSTM's perplexity (41.0 to 32.3) and raises its BLEU (2.3 to "
                "3.6), each by more than two standard errors of the difference, as Sutskever "
                "et al. found, though neither LSTM without attention translates usefully. "
                "And on one CPU thread a "
                "Transformer update costs more than an LSTM's, so it is not the faster one "
                "to train here; its advantage is parallel hardware.",
                {"view": "translate", "text": "I love this movie.", "beam": "4"},
                (
                    "**Reversing the source helps the LSTM a lot: reproduced**",
                    "reversed BLEU 3\\.58 vs forward 2\\.32",
                    "reversed perplexity 32\\.25 vs forward 40\\.99",
                    "**The Transformer trains faster: not reproduced**",
                ),
            ),
            TourStep(
                "Where sentences land",
                "The LSTM's sentence vectors (the paper's Figure 2). In the table of cosine "
                "distances, *John admires Mary* is closest to *John is admired by Mary* "
                "(0.032), which means the opposite, and *Mary is admired by John* is closest "
                "to *Mary admires John*: our LSTM groups sentences by the name they start "
                "with, not by who does what. *The government raised taxes* is farther from "
                "its own passive (0.208) than from *John is admired by Mary* (0.174).",
                {"view": "space"},
                ("Cosine distances in the full space (LSTM):",),
            ),
        ),
    )
)
