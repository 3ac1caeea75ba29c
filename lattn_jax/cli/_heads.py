"""``lattn heads``: where a real model's attention heads sit against the critical scale."""

import argparse
import io
import math
import platform
import sys
import time

from ._common import (
    LEVEL_RANGE,
    SCHEMA_VERSION,
    UsageError,
    check_level,
    count,
    integer,
    require_matplotlib,
    setup_jax,
    writable,
    write_json,
)
from ._runlog import progress

DEFAULT_NS = [100, 300, 1000, 3000, 10000]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``lattn heads``."""
    cmd = sub.add_parser(
        "heads",
        help="per-head critical scale t*(n), selectivity horizon and scaling law of a real BERT model",
        description=(
            "Run a BERT model (default: the bundled all-MiniLM-L6-v2) over real text, gather each head's "
            "query and key pools, and measure per head: t*(n), the logit multiplier at which E[max weight] = "
            "level when a pool query attends to n i.i.d. pool keys (t = 1 is the model's own scale); the "
            "selectivity horizon n_h where t = 1 stops being selective; which law t*(n) follows (C n^p, "
            "C (log n)^1/2, C log n) and the exponent 2/alpha of the top of the score law; the regime the "
            "published length schedules give at n = 1e3..1e6 and the horizon each buys; and the model's own "
            "attention at its real lengths against the i.i.d. prediction. Prints a table sorted by horizon."
        ),
    )
    cmd.add_argument("--model", metavar="PATH", help="a Hugging Face BERT directory (default: bundled MiniLM)")
    cmd.add_argument("--text", metavar="PATH", help="a UTF-8 text file (default: Python stdlib docstrings)")
    cmd.add_argument(
        "--n",
        type=count,
        nargs="+",
        default=DEFAULT_NS,
        metavar="N",
        help="the t*(n) grid, at least 3 sizes, each at most --keys / 10 (default: 1e2 3e2 1e3 3e3 1e4)",
    )
    cmd.add_argument("--level", type=float, default=0.5, help=f"E[max weight] level, {LEVEL_RANGE} (default: 0.5)")
    cmd.add_argument("--contexts", type=count, default=512, help="contexts per n and head, >= 16 (default: 512)")
    cmd.add_argument(
        "--schedule",
        nargs="+",
        metavar="NAME",
        help="schedules as logit multipliers: qwen[:L] yarn[:L] longrope[:L] ssmax[:s] llama4[:a,f] constant:B "
        "power:C,P (default: qwen, yarn, longrope and llama4 at L = 512, ssmax with s = 1/ln 512)",
    )
    cmd.add_argument("--keys", type=count, default=100_000, help="keys per head in the pool (default: 1e5)")
    cmd.add_argument("--queries", type=count, default=1024, help="queries per head in the pool (default: 1024)")
    cmd.add_argument(
        "--seq-len", type=integer("128 or 512"), default=512, help="tokens per sequence, <= 512 (default: 512)"
    )
    cmd.add_argument("--band", type=float, default=2.0, help="critical band factor > 1 (default: 2)")
    cmd.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    cmd.add_argument("--json", type=writable, metavar="PATH", help="write every number as JSON (after each head)")
    cmd.add_argument(
        "--plot", type=writable, metavar="PATH", help="write a PNG: regime grids at --plot-n and t*(n) curves"
    )
    cmd.add_argument("--plot-n", type=count, default=100_000, help="n of the regime grids (default: 1e5)")
    cmd.add_argument("--quiet", action="store_true", help="no progress bar or timing on stderr")
    return cmd


def _validate(args) -> None:
    """Everything checked before the model is loaded (analyze_heads checks it too, but only after the forward pass)."""
    from .._validation import check_sizes

    ns = sorted(set(args.n))
    if len(ns) < 3:
        raise UsageError(f"--n needs at least 3 distinct sizes (three laws are compared), got {' '.join(map(str, ns))}")
    check_sizes("ns", ns, minimum=2, sequence=True)
    if args.keys < 20:
        raise UsageError(f"--keys must be >= 20, got {args.keys}")
    if ns[-1] > args.keys // 10:
        raise UsageError(
            f"--n {ns[-1]} is beyond what the pool supports: at most --keys / 10 = {args.keys // 10} "
            f"(raise --keys, with a text long enough for it)"
        )
    check_level(args.level, ns[0])
    if args.contexts < 16:
        raise UsageError(f"--contexts must be >= 16, got {args.contexts}")
    if not 1 <= args.queries <= args.keys:
        raise UsageError(f"--queries must be in [1, --keys = {args.keys}], got {args.queries}")
    if not 3 <= args.seq_len <= 512:
        raise UsageError(f"--seq-len must be in [3, 512], got {args.seq_len}")
    if not (math.isfinite(args.band) and args.band > 1):
        raise UsageError(f"--band must be > 1 and finite, got {args.band}")
    if args.plot_n < 2:
        raise UsageError(f"--plot-n must be >= 2, got {args.plot_n}")
    if args.plot is not None:
        require_matplotlib("--plot")


def _schedules(names):
    from .._schedules._schedule import schedule_from_name
    from .._validation import ArgumentTypeError, ArgumentValueError
    from ..models._heads import TRAIN_LENGTH, published_schedules

    if names is None:
        return published_schedules(TRAIN_LENGTH)
    out = {}
    for name in names:
        try:
            out[name] = schedule_from_name(name)
        except (ArgumentValueError, ArgumentTypeError) as err:
            raise UsageError(f"--schedule: {err}") from None
    return out


def _horizon_text(row: dict) -> str:
    h, censored, law = row["log10_horizon"], row["horizon_censored"], row["log10_horizon_law"]
    if censored == 0:
        return f"{10**h:.2g}"
    bound = f"{'<' if censored < 0 else '>'}{10**h:.0e}".replace("e+0", "e")
    if law == "-inf" or (law not in (None, "inf") and law < math.log10(2.0)):
        return f"{bound} (<2)"  # not selective even for two keys: the extrapolation means no more than that
    extrapolated = "inf" if law is None or law == "inf" or law > 99 else f"{10**law:.1g}"
    return f"{bound} (~{extrapolated})".replace("e+0", "e")


def _sort_key(row: dict) -> float:
    law = row["log10_horizon_law"]
    law = math.inf if law in (None, "inf") else -math.inf if law == "-inf" else law
    if row["horizon_censored"] < 0:
        return min(row["log10_horizon"], law) - 1e-9
    if row["horizon_censored"] > 0:
        return max(row["log10_horizon"], law) + 1e-9
    return row["log10_horizon"]


def _table(rows: list[dict], ns: list[int]) -> list[str]:
    from ..models._heads import FLAGS

    i_1000 = ns.index(1000) if 1000 in ns else None
    t_label = "t*(1e3)" if i_1000 is not None else f"t*({ns[0]})"
    lines = [
        f"{'layer':>5} {'head':>4} {'horizon':>15} {'law':>9} {'p':>6} {'± se':>6} {'2/alpha':>7} {'± se':>6} "
        f"{t_label:>8} {'real/iid':>8} {'±':>5}  flags"
    ]
    for row in sorted(rows, key=_sort_key):
        alpha, alpha_se = row["alpha"], row["alpha_stderr"] or 0.0
        two = 2 / alpha
        two_se = 2 * alpha_se / alpha**2
        t = row["t_star"][i_1000 if i_1000 is not None else 0]
        flags = ",".join(f for b, f in enumerate(FLAGS) if row["flags"] >> b & 1) or "-"
        ratio_se = row["max_weight_ratio_stderr"] or 0.0
        lines.append(
            f"{row['layer']:>5} {row['head']:>4} {_horizon_text(row):>15} {row['law']:>9} "
            f"{row['power_exponent']:>6.3f} {row['power_exponent_stderr']:>6.3f} {two:>7.3f} {two_se:>6.3f} "
            f"{t:>8.3f} {row['max_weight_ratio']:>8.2f} {ratio_se:>5.2f}  {flags}"
        )
    return lines


def _summary(report) -> list[str]:
    import numpy as np

    from ..models._heads import LAWS

    labels = [lab for row in report.labels() for lab in row]
    counts = {law: sum(lab["law"] == law for lab in labels) for law in (*LAWS, "undecided")}
    lines = ["preferred law: " + ", ".join(f"{law} {c}" for law, c in counts.items())]
    censored = np.asarray(report.horizon_censored).ravel()
    h = np.asarray(report.log10_horizon).ravel()
    inside = h[censored == 0]
    lines.append(
        f"horizon at t = 1: {int(np.sum(censored < 0))} heads below n = {float(report.ns[0]):g}, "
        f"{inside.size} inside the grid"
        + (f" ({10 ** inside.min():.3g} to {10 ** inside.max():.3g})" if inside.size else "")
        + f", {int(np.sum(censored > 0))} above n = {float(report.ns[-1]):g}"
    )
    sched = np.asarray(report.schedule_log10_horizon)
    cens = np.asarray(report.schedule_horizon_censored)
    for s, name in enumerate(report.schedule_names):
        hs, cs = sched[..., s].ravel(), cens[..., s].ravel()
        median = np.median(hs)
        lines.append(
            f"schedule {name}: horizon median {10**median:.2g} (along the preferred law); "
            f"{int(np.sum(cs > 0))} heads selective beyond 1e12, {int(np.sum(cs < 0))} never selective"
        )
    return lines


def run(args) -> int:
    """Run ``lattn heads``."""
    _validate(args)
    schedules = _schedules(args.schedule)
    jax = setup_jax()
    from ..models import analyze_heads, default_corpus, gather_pools, load_bert, read_corpus, report_to_json
    from ..models._heads import _jsonable

    start = time.perf_counter()
    model = load_bert(args.model)
    corpus = default_corpus() if args.text is None else read_corpus(args.text)
    ns = sorted(set(args.n))
    cfg = model.config
    num_heads = cfg.num_layers * cfg.num_heads
    # --keys counts the pool's text keys; [CLS]/[SEP] (2 per sequence) are gathered but left out of it.
    sequences = math.ceil(args.keys / (args.seq_len - 2))
    available = len(corpus.token_ids(model)) // (args.seq_len - 2)  # full sequences the text makes
    if available < sequences:
        raise UsageError(
            f"the text ({corpus.label}) makes {available * (args.seq_len - 2)} tokens of full sequences, too few for "
            f"--keys {args.keys}: it needs at least {sequences * (args.seq_len - 2)} (--seq-len {args.seq_len}); "
            f"use a longer --text or --keys at most {available * (args.seq_len - 2)}"
        )
    config = {
        "model": "bundled all-MiniLM-L6-v2" if args.model is None else str(args.model),
        "corpus": corpus.name,
        "corpus_sha256": corpus.sha256,
        "python": platform.python_version(),
        "ns": ns,
        "level": args.level,
        "contexts": args.contexts,
        "schedules": list(schedules),
        "keys": args.keys,
        "queries": args.queries,
        "seq_len": args.seq_len,
        "band": args.band,
        "seed": args.seed,
        "plot_n": args.plot_n,
    }
    payload = {"schema_version": SCHEMA_VERSION, "command": "heads", "config": config, "heads": []}
    k_pools, k_heads = jax.random.split(jax.random.key(args.seed))
    with progress(sequences + num_heads, args.quiet) as bar:
        bar.start("forward pass")
        done = [0]

        def on_batch(finished, total):
            for _ in range(finished - done[0]):
                bar.advance()
            done[0] = finished

        pools = gather_pools(
            model,
            corpus,
            num_keys=sequences * args.seq_len,
            num_queries=args.queries,
            seq_len=args.seq_len,
            key=k_pools,
            progress=on_batch,
        )
        for _ in range(sequences - done[0]):
            bar.advance()
        bar.start(f"heads ({args.contexts} contexts per n)")

        def on_head(layer, head, row):
            payload["heads"].append(_jsonable_row(row, _jsonable))
            if args.json:
                write_json(args.json, payload)
            bar.step(f"layer {layer} head {head}")
            bar.advance()

        report = analyze_heads(
            pools,
            k_heads,
            ns=ns,
            level=args.level,
            num_contexts=args.contexts,
            schedules=schedules,
            band=args.band,
            progress=on_head,
        )
    result = report_to_json(report)
    payload["meta"] = result["meta"]
    payload["heads"] = result["heads"]
    print(
        f"{model_label(config)}, corpus {corpus.label}: {num_heads} heads, pools of {args.keys} keys; "
        f"t*(n) where E[max weight] = {args.level} ({args.contexts} contexts per n, n = {' '.join(map(str, ns))})"
    )
    print(f"real lengths: mean n = {report.real_length}; horizon = n where t = 1 stops being selective")
    for line in _table(result["heads"], ns):
        print(line)
    print()
    for line in _summary(report):
        print(line)
    elapsed = time.perf_counter() - start
    payload["seconds"] = elapsed
    if not args.quiet:
        print(f"\n{elapsed:.1f} s", file=sys.stderr)
    if args.json:
        write_json(args.json, payload)
        print(f"results written to {args.json}", file=sys.stderr)
    if args.plot:
        multipliers = {"t = 1 (no schedule)": 1.0}
        multipliers.update({name: float(sch(float(args.plot_n))) for name, sch in schedules.items()})
        plot_heads(payload, args.plot, args.plot_n, multipliers)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


def model_label(config: dict) -> str:
    """The model as the table's first line names it."""
    return f"model {config['model']}"


def _jsonable_row(row: dict, jsonable) -> dict:
    return {k: v if isinstance(v, str) else jsonable(v) for k, v in row.items()}


def _t_star_at(row: dict, ns: list[int], n: float) -> float:
    from ..models._heads import law_value

    if n in ns:
        return row["t_star"][ns.index(int(n))]
    best = row["best_law"]
    return float(law_value(best, row["law_coef"][best], row["power_exponent"], n))


def plot_heads(payload: dict, path, plot_n: int, multipliers: dict) -> None:
    """The figure of ``lattn heads``: for the model's own scale and each schedule,
    a layers x heads grid coloured by regime at ``n = plot_n`` (the ratio
    ``multiplier / t*(n)`` in each cell; ``t*`` along the preferred law when
    ``plot_n`` is off the grid), and below the ``t*(n)`` of four heads (the
    shortest and longest horizon and two between) with their fitted laws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import ListedColormap

    from ..models._heads import LAW_FORMULAS, LAWS, law_value

    meta, rows = payload["meta"], payload["heads"]
    ns = [int(n) for n in meta["ns"]]
    layers, heads = meta["layers"], meta["heads"]
    band = meta["band"]
    panels = list(multipliers.items())
    # 9 inches wide in two columns: at a ~690 px docs column 1 pt of text is ~1 px, and a cell fits its number.
    cols = 2
    grid_rows = math.ceil(len(panels) / cols)
    fig = plt.figure(figsize=(9, 2.75 * grid_rows + 4.6), dpi=110)
    spec = fig.add_gridspec(grid_rows + 1, cols, height_ratios=[1] * grid_rows + [1.7])
    cmap = ListedColormap(["#4c72b0", "#dddddd", "#c44e52"])
    extrapolated = plot_n not in ns
    for k, (name, mult) in enumerate(panels):
        ax = fig.add_subplot(spec[k // cols, k % cols])
        ratio = np.full((layers, heads), np.nan)
        for row in rows:
            ratio[row["layer"], row["head"]] = mult / _t_star_at(row, ns, plot_n)
        regime = np.where(ratio < 1 / band, -1, np.where(ratio > band, 1, 0))
        ax.imshow(regime, cmap=cmap, vmin=-1, vmax=1, aspect="auto")
        for i in range(layers):
            for j in range(heads):
                if np.isfinite(ratio[i, j]):
                    ax.text(j, i, f"{ratio[i, j]:.2g}", ha="center", va="center", fontsize=6.5)
        ax.set_title(f"{name}: x{mult:.3g} at n = {plot_n:.0e}".replace("e+0", "e"), fontsize=10)
        ax.set_xticks(range(heads))
        ax.set_yticks(range(layers))
        ax.tick_params(labelsize=8)
        ax.set_xlabel("head", fontsize=9)
        ax.set_ylabel("layer", fontsize=9)
    ax = fig.add_subplot(spec[grid_rows, :])
    order = sorted(rows, key=_sort_key)
    picks = sorted({0, len(order) // 3, (2 * len(order)) // 3, len(order) - 1})
    grid = np.geomspace(ns[0], max(1e6, plot_n), 200)
    for c, idx in enumerate(picks):
        row = order[idx]
        color = f"C{c}"
        label = f"L{row['layer']} H{row['head']} ({row['law']})"
        ax.errorbar(ns, row["t_star"], yerr=row["t_star_stderr"], fmt="o", color=color, capsize=3, label=label)
        for law in range(len(LAWS)):
            values = law_value(law, row["law_coef"][law], row["power_exponent"], grid)
            style = "-" if law == row["best_law"] else ":"
            ax.plot(grid, values, style, color=color, lw=1.2 if style == "-" else 0.8)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axvspan(ns[-1], grid[-1], color="0.93", zorder=0)
    ax.text(ns[-1] * 1.1, ax.get_ylim()[1] * 0.9, "extrapolated", fontsize=9, va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context size n")
    ax.set_ylabel("t*(n): logit multiplier with E[max w] = " + str(meta["level"]))
    laws = ", ".join(f"{law} = {formula}" for law, formula in zip(LAWS, LAW_FORMULAS, strict=True))
    ax.set_title(f"t*(n) of four heads (solid: preferred law, dotted: the others)\n{laws}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=9)
    note = " (t* along the preferred law: extrapolated)" if extrapolated else ""
    fig.suptitle(
        f"regime at n = {plot_n:.0e}{note}\nblue sub-critical (ratio < 1/{band:g}), grey critical, "
        f"red super-critical (ratio > {band:g}); cell: multiplier / t*(n)",
        fontsize=11,
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    # A 256-colour palette keeps the many numbered cells under a quarter megabyte (no software/date metadata).
    from PIL import Image

    Image.open(buffer).convert("RGB").quantize(256).save(path, format="png", optimize=True)
