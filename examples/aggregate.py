#!/usr/bin/python3
"""Aggregate a sweep of wsrl-train runs (examples/sweep.sh) into tables and
learning curves with confidence bands.

    /usr/bin/python3 examples/aggregate.py SWEEP_DIR [-o OUT] [--budgets 10000,20000,50000]
                                                     [--zoom 20000] [--no-plots]

Reads SWEEP_DIR/TASK/DATASET/METHOD-sSEED/{eval.csv,train.csv} and
SWEEP_DIR/TASK/collect/normalisation.json. Writes into OUT (default
SWEEP_DIR/aggregate):
  results.md                 tables: normalised return at the switch, the lowest
                             evaluation in the first --zoom steps (the dip), and at
                             each budget; mean and 95% confidence interval over seeds
                             (Student t), with the number of seeds
  curves-TASK-DATASET.png    normalised return vs environment steps, mean and 95% band
  zoom-TASK-DATASET.png      the same over the first --zoom steps
  q-TASK-DATASET.png         Q mean (train.csv q_mean) across the switch
  data/*.dat                 the aggregated curves (step mean lo hi n), for other tools
  runs.csv                   one row per run: its scores at the switch, the dip, each budget
                             and the last evaluation (the per-seed outcomes behind the tables);
                             dip_after_warmup is summary.json's min_normalized: the lowest
                             evaluation after the warmup within run.dip_window
Needs numpy; plots need gnuplot (skipped with a notice when missing) and are reduced to
a 64-colour palette with pngquant when it is installed (a quarter of the size). These
outputs are what docs/results/ keeps in git; the runs' own logs stay in SWEEP_DIR.
Scores: 100 * (R - R_random) / (R_expert - R_random) with the returns of the task's
collect run (raw returns when normalisation.json is missing).
"""
import argparse
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np

METHOD_ORDER = ["wsrl", "nowarmup", "mixed", "append", "calql-online", "rlpd", "scratch"]
METHOD_TITLE = {
    "wsrl": "WSRL (warmup, no offline data)",
    "nowarmup": "no warmup, no offline data",
    "mixed": "keep offline data (mixed 0.5)",
    "append": "keep offline data (append)",
    "calql-online": "pretraining loss online (mixed 0.5)",
    "rlpd": "RLPD (scratch + offline data)",
    "scratch": "SAC from scratch",
}
# Two-sided 95% Student t quantiles by degrees of freedom (1..30); normal beyond.
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t95(n):
    return T95[n - 2] if 2 <= n <= 31 else 1.96


def mean_ci(values):
    """Mean and 95% half-width over seeds (nan half-width with one seed)."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return math.nan, math.nan, 0
    if v.size == 1:
        return float(v[0]), math.nan, 1
    return float(v.mean()), t95(v.size) * float(v.std(ddof=1)) / math.sqrt(v.size), int(v.size)


def read_csv(path):
    """Columns of a wsrl-train CSV as {name: np.array} (phase as strings)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        return None
    head, body = rows[0], rows[1:]
    out = {}
    for j, name in enumerate(head):
        col = [r[j] if j < len(r) else "" for r in body]
        if name == "phase":
            out[name] = np.array(col)
        else:
            out[name] = np.array([float(x) if x not in ("", "nan") else math.nan for x in col])
    return out


def fmt(m, h, n, decimals=1):
    if not np.isfinite(m):
        return "–"
    if n < 2 or not np.isfinite(h):
        return f"{m:.{decimals}f} (n={n})"
    return f"{m:.{decimals}f} ± {h:.{decimals}f}"


def value_at(steps, values, budget):
    """The last evaluation at or before budget (nan when none)."""
    idx = np.where(steps <= budget)[0]
    return values[idx[-1]] if idx.size else math.nan


def aggregate_curves(runs, key, csv_name, column):
    """Per step: mean, 95% band, n over the runs' seeds."""
    per_seed = []
    for r in runs:
        d = r.get(key)
        if d is None or column not in d:
            continue
        per_seed.append({int(s): v for s, v in zip(d["step"], d[column]) if np.isfinite(v)})
    steps = sorted(set().union(*[set(p) for p in per_seed])) if per_seed else []
    table = []
    for s in steps:
        m, h, n = mean_ci([p[s] for p in per_seed if s in p])
        lo, hi = (m - h, m + h) if np.isfinite(h) else (m, m)
        table.append((s, m, lo, hi, n))
    return table


def gnuplot(script):
    proc = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if proc.returncode != 0:
        print("aggregate: gnuplot failed:\n" + proc.stderr, file=sys.stderr)


def num_or_nan(x):
    return math.nan if x is None else float(x)


def plot(png, title, ylabel, series, xmax=None):
    """series: [(title, datfile)] with columns step mean lo hi n."""
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
    lines = [
        'if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) { set terminal pngcairo size 1000,600 font "sans,10" } '
        "else { set terminal png size 1000,600 }",
        f"set output '{png}'",
        f"set title \"{title}\"",
        "set xlabel 'environment steps'",
        f"set ylabel '{ylabel}'",
        "set grid",
        "set key outside right",
        "set style fill transparent solid 0.2 noborder",
    ]
    if xmax:
        lines.append(f"set xrange [0:{xmax}]")
    parts = []
    for i, (name, dat) in enumerate(series):
        c = colors[i % len(colors)]
        parts.append(f"'{dat}' using 1:3:4 with filledcurves lc rgb '{c}' notitle")
        parts.append(f"'{dat}' using 1:2 with lines lw 2 lc rgb '{c}' title \"{name}\"")
    lines.append("plot " + ", \\\n     ".join(parts))
    gnuplot("\n".join(lines) + "\n")
    if shutil.which("pngquant") and os.path.exists(png):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--speed", "1", "--output", png, "64", png],
                       capture_output=True, check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep")
    ap.add_argument("-o", "--out")
    ap.add_argument("--budgets", default="10000,20000,30000,50000")
    ap.add_argument("--zoom", type=int, default=20000)
    ap.add_argument("--no-plots", action="store_true")
    a = ap.parse_args()
    out = a.out or os.path.join(a.sweep, "aggregate")
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    budgets = [int(b) for b in a.budgets.split(",") if b]
    have_gnuplot = shutil.which("gnuplot") is not None and not a.no_plots
    if not have_gnuplot and not a.no_plots:
        print("aggregate: gnuplot not found: writing tables only (install gnuplot-nox for plots)", file=sys.stderr)

    # groups[(task, dataset)][method] = [run, ...]
    groups = {}
    pat = re.compile(r"^(?P<method>.+)-s(?P<seed>\d+)$")
    for task in sorted(os.listdir(a.sweep)):
        tdir = os.path.join(a.sweep, task)
        if not os.path.isdir(tdir) or task == "aggregate":
            continue
        norm = None
        nfile = os.path.join(tdir, "collect", "normalisation.json")
        if os.path.exists(nfile):
            with open(nfile) as f:
                norm = json.load(f)
        for ds in sorted(os.listdir(tdir)):
            ddir = os.path.join(tdir, ds)
            if ds == "collect" or not os.path.isdir(ddir):
                continue
            for run in sorted(os.listdir(ddir)):
                m = pat.match(run)
                if not m or m.group("method") == "pretrain":
                    continue
                rdir = os.path.join(ddir, run)
                ev = os.path.join(rdir, "eval.csv")
                if not os.path.exists(ev):
                    continue
                r = {"seed": int(m.group("seed")), "dir": rdir,
                     "done": os.path.exists(os.path.join(rdir, "summary.json")), "norm": norm}
                r["eval"] = read_csv(ev)
                r["summary"] = {}
                if r["done"]:
                    with open(os.path.join(rdir, "summary.json")) as f:
                        # wsrl-train writes a missing score as a bare nan (not JSON)
                        r["summary"] = json.loads(re.sub(r"\bnan\b", "NaN", f.read()))
                tr = os.path.join(rdir, "train.csv")
                r["train"] = read_csv(tr) if os.path.exists(tr) else None
                if r["eval"] is None:
                    continue
                e = r["eval"]
                if norm:
                    lo, hi = norm["random_return"], norm["expert_return"]
                    e["score"] = 100.0 * (e["return_mean"] - lo) / (hi - lo)
                else:
                    e["score"] = e["return_mean"]
                groups.setdefault((task, ds), {}).setdefault(m.group("method"), []).append(r)

    if not groups:
        print(f"aggregate: no runs under {a.sweep}", file=sys.stderr)
        return 1
    md = ["# Aggregated results", "",
          f"Generated by `examples/aggregate.py {a.sweep}`. Scores are normalised returns "
          "(0 = random policy, 100 = the expert policy of `collect`) of the deterministic policy; "
          "mean ± 95% confidence half-width over seeds (Student t). 'switch' is the pretrained "
          f"policy before the first online step; 'lowest ≤{a.zoom // 1000}K' the worst evaluation "
          f"in the first {a.zoom} online steps (the dip); budgets take the last evaluation at or "
          "before that step. Unfinished runs count up to where they are.", ""]
    per_run = [["task", "dataset", "method", "seed", "finished", "switch", f"lowest_{a.zoom}"]
               + [str(b) for b in budgets] + ["last_step", "last", "dip_after_warmup"]]
    for (task, ds), methods in sorted(groups.items()):
        norm = next(iter(methods.values()))[0]["norm"]
        md.append(f"## {task}, {ds}")
        md.append("")
        if norm:
            md.append(f"random return {norm['random_return']:.2f}, expert return {norm['expert_return']:.2f}")
            md.append("")
        head = ["method", "seeds", "switch", f"lowest ≤{a.zoom // 1000}K"] + [f"{b // 1000}K" for b in budgets]
        md.append("| " + " | ".join(head) + " |")
        md.append("|" + "---|" * len(head))
        order = [m for m in METHOD_ORDER if m in methods] + sorted(m for m in methods if m not in METHOD_ORDER)
        series, zseries, qseries = [], [], []
        for meth in order:
            runs = sorted(methods[meth], key=lambda r: r["seed"])
            sw, low, at = [], [], {b: [] for b in budgets}
            for r in runs:
                s, v = r["eval"]["step"], r["eval"]["score"]
                sw.append(v[0] if s.size and s[0] == 0 else math.nan)
                w = (s > 0) & (s <= a.zoom)
                low.append(float(v[w].min()) if w.any() else math.nan)
                for b in budgets:
                    at[b].append(value_at(s, v, b) if s.size and s[-1] >= b else math.nan)
                per_run.append([task, ds, meth, r["seed"], int(r["done"]), sw[-1], low[-1]]
                               + [at[b][-1] for b in budgets]
                               + [int(s[-1]) if s.size else "", v[-1] if s.size else math.nan,
                                  num_or_nan(r["summary"].get("min_normalized"))])
            done = sum(r["done"] for r in runs)
            cells = [METHOD_TITLE.get(meth, meth), f"{done}/{len(runs)}" if done != len(runs) else str(len(runs)),
                     fmt(*mean_ci(sw)), fmt(*mean_ci(low))] + [fmt(*mean_ci(at[b])) for b in budgets]
            md.append("| " + " | ".join(cells) + " |")
            for key, col, lst in (("eval", "score", series), ("train", "q_mean", qseries)):
                table = aggregate_curves(runs, key, None, col)
                if not table:
                    continue
                dat = os.path.join(out, "data", f"{key}-{task}-{ds}-{meth}.dat")
                with open(dat, "w") as f:
                    f.write("# step mean lo95 hi95 n\n")
                    for row in table:
                        f.write("%d %.6g %.6g %.6g %d\n" % row)
                lst.append((METHOD_TITLE.get(meth, meth), dat))
        md.append("")
        if have_gnuplot and series:
            ylabel = "normalized return" if norm else "return"
            for name, xmax, lst, yl in (("curves", None, series, ylabel), ("zoom", a.zoom, series, ylabel),
                                        ("q", a.zoom, qseries, "Q mean (training batches)")):
                if not lst:
                    continue
                png = os.path.join(out, f"{name}-{task}-{ds}.png")
                what = {"curves": "learning curves", "zoom": f"first {a.zoom} steps", "q": "Q mean across the switch"}
                plot(png, f"{task} {ds}: {what[name]} (mean, 95% band)", yl, lst, xmax)
                md.append(f"![{name} {task} {ds}]({os.path.basename(png)})")
            md.append("")
    with open(os.path.join(out, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        for row in per_run:
            w.writerow(["" if isinstance(x, float) and math.isnan(x) else
                        (f"{x:.4g}" if isinstance(x, float) else x) for x in row])
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    print(f"\naggregate: wrote {out}/results.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
