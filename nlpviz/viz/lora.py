"""Figures of the LoRA page (Hu et al. 2022): rank sweeps, spectra of dW, subspace similarity.

Pure functions: plain arrays and labels in, a plotly figure (or the table behind it) out. No
streamlit, no model calls. Accuracies are fractions in [0, 1] and shown as percentages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nlpviz.viz.common import CLASS_COLOURS, SEQUENTIAL, base_layout, escape, require_shape

REFERENCE_COLOURS = ("#2c3e50", "#7f8c8d", "#d68910", "#8e44ad")
SEED_SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x", "cross")


@dataclass(frozen=True)
class Reference:
    """A horizontal reference line: another model's accuracy (full fine-tuning, a probe, ...)."""

    label: str
    value: float  # accuracy in [0, 1]
    std: float | None = None  # sample std over seeds, shown in the hover when known
    n: int = 1  # seeds behind ``value``


@dataclass(frozen=True)
class SeedSummary:
    """Mean and sample standard deviation over seeds, per group (rank or configuration)."""

    groups: list  # group keys in first-seen order (ranks sorted when numeric)
    mean: np.ndarray  # (G,)
    std: np.ndarray  # (G,) sample std (ddof=1); NaN where a group has one seed
    n: np.ndarray  # (G,) seeds per group


def _vector(name: str, values, length: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    require_shape(name, array, (length,))
    return array


def summarise_seeds(groups: Sequence, values) -> SeedSummary:
    """Mean and sample std (ddof=1, NaN for a single seed) of ``values`` per group.

    Args:
        groups: (N,) the group of each run (a rank, or a label such as ``"full"``).
        values: (N,) one number per run.
    """
    values = _vector("values", values)
    if len(groups) != values.shape[0]:
        raise ValueError(f"groups has {len(groups)} entries but values has {values.shape[0]}")
    order: list = []
    for group in groups:
        if group not in order:
            order.append(group)
    if all(isinstance(g, int | np.integer) for g in order):
        order = sorted(order)
    keys = list(groups)
    means, stds, counts = [], [], []
    for group in order:
        members = values[[k == group for k in keys]]
        means.append(float(members.mean()))
        stds.append(float(members.std(ddof=1)) if members.size > 1 else float("nan"))
        counts.append(int(members.size))
    return SeedSummary(order, np.asarray(means), np.asarray(stds), np.asarray(counts))


def _check_accuracies(name: str, values: np.ndarray) -> None:
    if values.size and not (
        np.all(np.isfinite(values)) and values.min() >= 0 and values.max() <= 1
    ):
        raise ValueError(f"{name} must be accuracies in [0, 1]")


def _add_references(
    figure: go.Figure, references: Sequence[Reference], x_range: tuple[float, float]
) -> None:
    """Each reference as a dashed line across the plot, named in the legend and labelled."""
    for k, ref in enumerate(references):
        if not (np.isfinite(ref.value) and 0 <= ref.value <= 1):
            raise ValueError(f"reference {ref.label!r} has accuracy {ref.value}, not in [0, 1]")
        colour = REFERENCE_COLOURS[k % len(REFERENCE_COLOURS)]
        spread = (
            f" ± {ref.std:.1%} (std over {ref.n} seeds)"
            if ref.std is not None and np.isfinite(ref.std)
            else ""
        )
        label = escape(ref.label)
        figure.add_scatter(
            x=list(x_range),
            y=[ref.value, ref.value],
            mode="lines",
            name=label,
            line={"dash": "dash", "color": colour, "width": 1.5},
            hovertemplate=f"{label}: {ref.value:.1%}{spread}<extra></extra>",
        )
        figure.add_annotation(  # staggered along the line so that close references stay legible
            x=1.0 - 0.22 * (k % 4),
            xref="paper",
            xanchor="right",
            y=ref.value,
            yanchor="bottom",
            text=f"{label} {ref.value:.1%}",
            showarrow=False,
            font={"size": 11, "color": colour},
        )


def _seed_points(
    figure: go.Figure, x: np.ndarray, y: np.ndarray, seeds: Sequence[int], labels: Sequence[str]
) -> None:
    """One trace per seed: every run's accuracy as a small point."""
    seeds = [int(s) for s in seeds]
    for k, seed in enumerate(sorted(set(seeds))):
        mask = np.asarray([s == seed for s in seeds])
        figure.add_scatter(
            x=x[mask].tolist(),
            y=y[mask].tolist(),
            mode="markers",
            name=f"seed {seed}",
            legendgroup="seeds",
            marker={
                "symbol": SEED_SYMBOLS[k % len(SEED_SYMBOLS)],
                "size": 7,
                "color": "rgba(46, 134, 193, 0.45)",
            },
            customdata=[escape(label) for label, m in zip(labels, mask, strict=True) if m],
            hovertemplate=f"%{{customdata}}, seed {seed}: %{{y:.2%}}<extra></extra>",
        )


def _error_array(summary: SeedSummary) -> list[float]:
    return [0.0 if not np.isfinite(s) else float(s) for s in summary.std]


def _mean_error_bars(summary: SeedSummary) -> dict:
    """The means' error bars (sample std over seeds) and their hover data (seeds, std)."""
    errors = _error_array(summary)
    return {
        "error_y": {"type": "data", "array": errors, "visible": True, "width": 5},
        "customdata": np.stack([summary.n, errors], axis=-1).tolist() if summary.groups else None,
    }


def _accuracy_layout(figure: go.Figure, title: str) -> go.Figure:
    # one definition, so the two accuracy figures keep the same y axis, legend and height
    figure.update_yaxes(title="test accuracy", tickformat=".0%")
    figure.update_layout(legend={"orientation": "h", "y": -0.25})
    return base_layout(figure, title, height=440)


def accuracy_vs_rank(
    ranks: Sequence[int],
    accuracies,
    seeds: Sequence[int],
    references: Sequence[Reference] = (),
    title: str = "Test accuracy vs LoRA rank",
) -> go.Figure:
    """Accuracy against rank on a log2 axis: each run as a point, the mean over seeds with error
    bars (sample std, drawn only where a rank has more than one seed), references as lines.

    Args:
        ranks: (N,) the rank of each LoRA run (positive integers).
        accuracies: (N,) test accuracy of each run.
        seeds: (N,) the seed of each run.
        references: horizontal lines (full fine-tuning, the probe, another model).
    """
    accuracies = _vector("accuracies", accuracies)
    n = accuracies.shape[0]
    if len(ranks) != n or len(seeds) != n:
        raise ValueError(
            f"ranks has {len(ranks)}, seeds {len(seeds)} and accuracies {n} entries: "
            "one of each per run"
        )
    if any(isinstance(r, bool) or int(r) != r or r < 1 for r in ranks):
        raise ValueError(f"ranks must be positive integers, got {list(ranks)}")
    _check_accuracies("accuracies", accuracies)
    ranks = [int(r) for r in ranks]
    summary = summarise_seeds(ranks, accuracies)
    figure = go.Figure()
    x = np.asarray(ranks, dtype=float)
    low = min(ranks) / 1.5 if ranks else 0.5
    high = max(ranks) * 1.5 if ranks else 2.0
    _add_references(figure, references, (low, high))
    _seed_points(figure, x, accuracies, seeds, [f"r={r}" for r in ranks])
    figure.add_scatter(
        x=summary.groups,
        y=summary.mean.tolist(),
        mode="lines+markers",
        name="LoRA, mean over seeds",
        line={"color": CLASS_COLOURS[2], "width": 2},
        marker={"size": 9, "color": CLASS_COLOURS[2]},
        **_mean_error_bars(summary),
        hovertemplate="r=%{x}: %{y:.2%} (mean of %{customdata[0]} seeds, "
        "std %{customdata[1]:.2%})<extra></extra>",
    )
    ticks = sorted(set(ranks)) or [1]
    figure.update_xaxes(
        type="log",
        title="rank r (log2 scale)",
        tickvals=ticks,
        ticktext=[str(t) for t in ticks],
        range=[np.log10(low), np.log10(high)],
    )
    return _accuracy_layout(figure, title)


def accuracy_vs_parameters(
    labels: Sequence[str],
    parameters: Sequence[int],
    accuracies,
    seeds: Sequence[int],
    references: Sequence[Reference] = (),
    title: str = "Test accuracy vs trainable parameters",
) -> go.Figure:
    """Accuracy against the number of trained parameters (log x): every configuration (LoRA ranks,
    full fine-tuning, the probe) as its mean over seeds with error bars, each run as a point.

    Args:
        labels: (N,) configuration of each run (``"r=8"``, ``"full fine-tuning"``, ...).
        parameters: (N,) trainable parameters of each run (positive).
        accuracies: (N,) test accuracy of each run.
        seeds: (N,) the seed of each run.
        references: horizontal lines (e.g. the Kim CNN).
    """
    accuracies = _vector("accuracies", accuracies)
    n = accuracies.shape[0]
    if len(labels) != n or len(parameters) != n or len(seeds) != n:
        raise ValueError(
            f"labels has {len(labels)}, parameters {len(parameters)}, seeds {len(seeds)} and "
            f"accuracies {n} entries: one of each per run"
        )
    params = np.asarray(parameters, dtype=float)
    if params.size and params.min() < 1:
        raise ValueError("trainable parameters must be positive for a log axis")
    _check_accuracies("accuracies", accuracies)
    labels = list(labels)
    summary = summarise_seeds(labels, accuracies)
    group_params = []
    for group in summary.groups:
        counts = {int(p) for p, label in zip(params, labels, strict=True) if label == group}
        if len(counts) != 1:
            raise ValueError(f"{group!r} has runs with different parameter counts {counts}")
        group_params.append(counts.pop())
    figure = go.Figure()
    low = params.min() / 2 if params.size else 1.0
    high = params.max() * 2 if params.size else 10.0
    _add_references(figure, references, (low, high))
    _seed_points(figure, params, accuracies, seeds, labels)
    figure.add_scatter(
        x=group_params,
        y=summary.mean.tolist(),
        mode="markers+text",
        name="mean over seeds",
        text=[escape(g) for g in summary.groups],
        textposition="top center",
        marker={"size": 10, "color": CLASS_COLOURS[2]},
        **_mean_error_bars(summary),
        hovertemplate="%{text}: %{x:,} trainable parameters, %{y:.2%} "
        "(mean of %{customdata[0]} seeds, std %{customdata[1]:.2%})<extra></extra>",
    )
    figure.update_xaxes(
        type="log",
        title="trainable parameters (log scale)",
        range=[np.log10(low), np.log10(high)],
        dtick=1,  # one tick per power of ten
        tickformat=",",
    )
    return _accuracy_layout(figure, title)


def epochs_frame(labels: Sequence[str], seeds: Sequence[int], histories) -> pd.DataFrame:
    """One row per run and epoch: the dev accuracy after that epoch.

    Args:
        labels: (N,) configuration of each run (``"r=8"``, ``"full fine-tuning"``, ...).
        seeds: (N,) the seed of each run.
        histories: (N,) per run, its dev accuracy after epoch 1, 2, ... (runs may differ in length).
    """
    if not len(labels) == len(seeds) == len(histories):
        raise ValueError(
            f"labels has {len(labels)}, seeds {len(seeds)} and histories {len(histories)} "
            "entries: one of each per run"
        )
    rows = []
    for label, seed, history in zip(labels, seeds, histories, strict=True):
        values = np.asarray(history, dtype=np.float64).reshape(-1)
        _check_accuracies(f"the history of {label} seed {seed}", values)
        rows += [
            {"configuration": label, "seed": int(seed), "epoch": e + 1, "dev_accuracy": float(v)}
            for e, v in enumerate(values)
        ]
    return pd.DataFrame(rows, columns=["configuration", "seed", "epoch", "dev_accuracy"])


def accuracy_vs_epochs(
    frame: pd.DataFrame, title: str = "Dev accuracy after each epoch"
) -> go.Figure:
    """Dev accuracy against epoch, one line per configuration (the mean over its seeds, with
    ± one sample std as error bars where there are 2+ seeds), from :func:`epochs_frame`.
    A line still climbing at its last epoch says that configuration had not finished learning.
    """
    figure = go.Figure()
    palette = CLASS_COLOURS + REFERENCE_COLOURS
    for k, label in enumerate(dict.fromkeys(frame["configuration"])):
        runs = frame[frame["configuration"] == label]
        summary = summarise_seeds([int(e) for e in runs["epoch"]], runs["dev_accuracy"])
        name = escape(label)
        colour = palette[k % len(palette)]
        figure.add_scatter(
            x=summary.groups,
            y=summary.mean.tolist(),
            mode="lines+markers",
            name=name,
            line={"color": colour, "width": 2},
            marker={"size": 8, "color": colour},
            **_mean_error_bars(summary),
            hovertemplate=f"{name}, epoch %{{x}}: %{{y:.2%}} (mean of %{{customdata[0]}} "
            "seeds, std %{customdata[1]:.2%})<extra></extra>",
        )
    epochs = sorted(set(frame["epoch"])) or [1]
    figure.update_xaxes(title="epoch", tickvals=epochs, ticktext=[str(e) for e in epochs])
    figure.update_yaxes(title="dev accuracy", tickformat=".1%")  # the curves span a few points
    figure.update_layout(legend={"orientation": "h", "y": -0.25})
    return base_layout(figure, title, height=420)


def runs_frame(
    labels: Sequence[str], parameters: Sequence[int], accuracies, seeds: Sequence[int]
) -> pd.DataFrame:
    """The numbers behind the sweep plots: one row per run."""
    return pd.DataFrame(
        {
            "configuration": list(labels),
            "seed": list(seeds),
            "trainable_parameters": list(parameters),
            "test_accuracy": list(np.asarray(accuracies, dtype=float)),
        }
    )


def spectra_figure(
    spectra: Mapping[int, Sequence[float]],
    full: Sequence[float] | None = None,
    relative: bool = False,
    title: str = "Singular values of dW",
) -> go.Figure:
    """Singular values of the learned update, largest first, one line per rank (log y).

    Args:
        spectra: rank r -> singular values of ``dW = (alpha / r) B A`` (at most r of them).
        full: singular values of full fine-tuning's update ``W_ft - W_0`` (dashed), optional.
        relative: divide each spectrum by its largest value (compare shapes, not sizes).
    """
    figure = go.Figure()
    curves: list[tuple[str, np.ndarray, dict]] = []
    for k, (rank, values) in enumerate(sorted(spectra.items())):
        array = _vector(f"singular values of r={rank}", values)
        if array.shape[0] > rank:
            raise ValueError(
                f"r={rank} has {array.shape[0]} singular values; a rank-{rank} update has at "
                f"most {rank}"
            )
        colour = CLASS_COLOURS[k % len(CLASS_COLOURS)]
        curves.append((f"LoRA r={rank}", array, {"color": colour, "width": 2}))
    if full is not None:
        array = _vector("singular values of full fine-tuning", full)
        curves.append(("full fine-tuning", array, {"color": "#2c3e50", "dash": "dash"}))
    for name, array, line in curves:
        if np.any(array < 0) or np.any(np.diff(array) > 1e-9 * max(1.0, float(array.max()))):
            raise ValueError(f"{name}: singular values must be non-negative and non-increasing")
        y = array / array[0] if relative and array.size and array[0] > 0 else array
        # zeros cannot be drawn on a log axis: show them as gaps
        y = np.where(y > 0, y, np.nan)
        figure.add_scatter(
            x=list(range(1, array.shape[0] + 1)),
            y=y.tolist(),
            mode="lines+markers",
            name=name,
            line=line,
            marker={"size": 5},
            hovertemplate=f"{name}: sigma_%{{x}} = %{{y:.4g}}<extra></extra>",
        )
    figure.update_xaxes(title="index i (largest first)")
    figure.update_yaxes(
        type="log", title="sigma_i / sigma_1" if relative else "singular value sigma_i"
    )
    return base_layout(figure, title, height=400)


def spectra_frame(
    spectra: Mapping[int, Sequence[float]], full: Sequence[float] | None = None
) -> pd.DataFrame:
    rows = [
        {"update": f"LoRA r={rank}", "index": i + 1, "singular_value": float(v)}
        for rank, values in sorted(spectra.items())
        for i, v in enumerate(values)
    ]
    rows += [
        {"update": "full fine-tuning", "index": i + 1, "singular_value": float(v)}
        for i, v in enumerate([] if full is None else full)
    ]
    return pd.DataFrame(rows, columns=["update", "index", "singular_value"])


def similarity_heatmap(
    phi, ranks: tuple[int, int] = (8, 64), title: str = "Subspace similarity phi(i, j)"
) -> go.Figure:
    """The normalised subspace similarity of Hu et al. (2022), Eq. 4 / Figure 3.

    Args:
        phi: (r1, r2) with ``phi[i-1, j-1]`` the similarity of the top-i directions of the
            rank-r1 adapter's A and the top-j of the rank-r2 one, in [0, 1].
        ranks: (r1, r2), the two ranks (the paper: 8 and 64).
    """
    phi = np.asarray(phi, dtype=np.float64)
    r1, r2 = ranks
    require_shape("phi", phi, (r1, r2))
    if not np.all(np.isfinite(phi)) or phi.min() < -1e-6 or phi.max() > 1 + 1e-6:
        raise ValueError("phi must hold similarities in [0, 1]")
    figure = go.Figure(
        go.Heatmap(
            z=phi.tolist(),
            x=list(range(1, r2 + 1)),
            y=list(range(1, r1 + 1)),
            zmin=0.0,
            zmax=1.0,
            colorscale=SEQUENTIAL,
            colorbar={"title": "phi", "tickvals": [0, 0.5, 1]},
            hovertemplate=f"top i=%{{y}} of r={r1}, top j=%{{x}} of r={r2}: "
            "phi = %{z:.3f}<extra></extra>",
        )
    )
    figure.update_xaxes(title=f"j (top directions of the r={r2} adapter)")
    figure.update_yaxes(title=f"i (top directions of r={r1})", autorange="reversed", dtick=1)
    return base_layout(figure, title, height=260 + 8 * r1)


def similarity_frame(phi) -> pd.DataFrame:
    phi = np.asarray(phi, dtype=np.float64)
    require_shape("phi", phi, (None, None))
    i, j = np.meshgrid(np.arange(1, phi.shape[0] + 1), np.arange(1, phi.shape[1] + 1))
    return pd.DataFrame({"i": i.T.ravel(), "j": j.T.ravel(), "phi": phi.ravel()})


def amplification_bars(
    ranks: Sequence[int],
    factors,
    on_delta,
    on_weight,
    on_random,
    title: str = "How much dW amplifies directions of W",
) -> go.Figure:
    """Hu et al. (2022), Section 7.3 / Table 7, per rank.

    Left: the amplification factor ``||dW||_F / ||U^T W V^T||_F``. Right: ``||U^T W V^T||_F``
    with U, V the top-r directions of dW, of W itself, and random ones.

    Args:
        ranks: (R,) the ranks (bar labels).
        factors, on_delta, on_weight, on_random: (R,) each.
    """
    from plotly.subplots import make_subplots

    r = len(ranks)
    factors = _vector("factors", factors, r)
    on_delta = _vector("on_delta", on_delta, r)
    on_weight = _vector("on_weight", on_weight, r)
    on_random = _vector("on_random", on_random, r)
    labels = [f"r={int(k)}" for k in ranks]
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("amplification factor", "||U^T W V^T||_F, U and V from:"),
        horizontal_spacing=0.12,
    )
    figure.add_bar(
        x=labels,
        y=factors.tolist(),
        name="||dW|| / ||U^T W V^T||",
        marker_color=CLASS_COLOURS[4],
        text=[f"{f:.1f}x" for f in factors],
        textposition="outside",
        hovertemplate="%{x}: amplification %{y:.2f}<extra></extra>",
        row=1,
        col=1,
    )
    for k, (name, values) in enumerate(
        (("dW's top-r directions", on_delta), ("W's own top-r", on_weight), ("random", on_random))
    ):
        figure.add_bar(
            x=labels,
            y=values.tolist(),
            name=name,
            marker_color=(CLASS_COLOURS[2], "#2c3e50", "#95a5a6")[k],
            hovertemplate=f"%{{x}}, {name}: %{{y:.3f}}<extra></extra>",
            row=1,
            col=2,
        )
    figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.2})
    figure.update_yaxes(title="factor", row=1, col=1)
    figure.update_yaxes(title="Frobenius norm", type="log", row=1, col=2)
    base_layout(figure, title, height=420)
    figure.update_layout(margin={"t": 90})  # room for the subplot titles under the title
    return figure
