"""Figures T1 (NTP threshold) and T2 (STaR dynamics) for the transformer, with the linear
model's closed-form predictions overlaid (same style as :mod:`linparity.figures`).

* T1: after next-token pre-training on D(p), the transformer's greedy accuracy and pi(long)
  against p_cot; lines: the linear model's regularised NTP optimum
  (``closed_form.greedy_probs(ntp_optimum(d, p, lam), d).p_correct``, a step at p = 1/3, and
  ``trajectory_probs(...).p_long`` = p: length calibration).
* T2: STaR from a model pre-trained at p_cot = 0.2; pi(long), greedy accuracy and mean length
  per round; lines: the ideal recursion p_{n+1} = 2p_n/(1+p_n)
  (``rl_closed_form.ideal_recursion``) started at the measured pi(long), and the exact
  finite-lambda STaR map of the linear model (``rl_closed_form.star_map``).

Three configurations (``mode``), each a dict in :data:`T1_SETTINGS` / :data:`T2_SETTINGS`:

* ``"quick"``: smoke test at d = 6 with a tiny model (about a minute per figure on 2 cores).
  At d = 6 the 64 inputs can be memorised and STaR's outcome depends on the seed; do not read
  theory off it.
* ``"main"``: what ``python -m linparity.figures`` (full mode) runs. d = 16 (the issue's
  minimum: 65,536 inputs against 2e5 training samples, so memorisation cannot explain the
  results), depth 2, width 64, 800 pre-training steps x 256 fresh samples, p_cot in
  {0.1, 0.2, 0.45, 0.6} for T1 (two on each side of 1/3; the full grid is ``"full"``) and
  8 STaR rounds of 2,048 inputs for T2. About 8-10 minutes for both on 2 cores.
* ``"full"``: the larger setting (d = 16, 1,500 steps, 7 values of p_cot, 12 STaR rounds);
  about 35 minutes or more on 2 cores.

T1 trains its p values in ``jobs`` processes (joblib, one torch thread each); the random
streams are ``SeedSequence`` children, child i for the i-th p, so the numbers do not depend on
``jobs``. Training uses one torch thread (restored afterwards): at these sizes a second thread
is slower on a shared 2-core machine (BENCHMARKS.md, ``## Transformer``), and a fixed thread
count keeps a run reproducible.

:func:`result_t1` / :func:`result_t2` return a :class:`linparity.figures.report.FigureResult`
whose rows check issue 6's claims (PASS or DEVIATION, criterion in each row) for REPORT.md.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

from .. import closed_form as cf
from .. import rl_closed_form as rcf
from .._checks import check_int, spawn
from ..experiments.star import ideal_curves
from ..figures import _plot
from ..figures.report import FigureResult, Row, fmt
from .model import TransformerConfig, build_model
from .train import pretrain, star

__all__ = ["result_t1", "result_t2", "MODES", "T1_SETTINGS",
           "T2_SETTINGS", "ACC_TOL", "CALIB_TOL", "GENERALISED"]

#: linear-model regularisation used for the overlaid closed form (small: close to lam -> 0)
LAM = 1e-3
#: issue 6's criteria: greedy accuracy "within 0.05 of 0.5", pi(long) "within 0.05 of p_cot",
#: accuracy ">= 0.99" counts as generalised
ACC_TOL, CALIB_TOL, GENERALISED = 0.05, 0.05, 0.99
MODES = ("quick", "main", "full")

_MODEL_QUICK = dict(d=6, depth=2, width=32, heads=2)
_MODEL_D16 = dict(d=16, depth=2, width=64, heads=4)
#: T1 settings per mode. Fields: model (d, depth, width, heads); steps and batch_size of online
#: NTP in total (fresh samples each step); lr and warmup (linear warm-up steps) of AdamW;
#: decay_steps and lr_final (the last decay_steps steps run at lr_final, see ``_pre``; absent = 0);
#: p_grid (p_cot values, one run each); n_eval (held-out fresh inputs for the metrics); jobs
#: (processes).
T1_SETTINGS = {
    "quick": dict(**_MODEL_QUICK, steps=400, batch_size=64, lr=3e-3, warmup=20,
                  p_grid=(0.1, 0.2, 0.45, 0.6), n_eval=512, jobs=1),
    "main": dict(**_MODEL_D16, steps=800, batch_size=256, lr=1e-3, warmup=100, decay_steps=200,
                 lr_final=2e-4, p_grid=(0.1, 0.2, 0.45, 0.6), n_eval=1024, jobs=2),
    "full": dict(**_MODEL_D16, steps=1500, batch_size=256, lr=1e-3, warmup=100, decay_steps=300,
                 lr_final=2e-4, p_grid=(0.1, 0.2, 0.25, 0.3, 0.4, 0.45, 0.6), n_eval=1024, jobs=2),
}
#: T2 settings per mode: the NTP fields of T1 at one p_cot, then STaR: rounds, samples (fresh
#: inputs per round), epochs (passes over the kept set per round), star_lr (AdamW).
T2_SETTINGS = {
    "quick": dict(**_MODEL_QUICK, p_cot=0.2, steps=800, batch_size=64, lr=3e-3, warmup=20,
                  rounds=4, samples=512, epochs=2, star_lr=1.5e-3, n_eval=512),
    "main": dict(**_MODEL_D16, p_cot=0.2, steps=800, batch_size=256, lr=1e-3, warmup=100,
                 decay_steps=200, lr_final=2e-4, rounds=8, samples=2048, epochs=2, star_lr=5e-4, n_eval=1024),
    "full": dict(**_MODEL_D16, p_cot=0.2, steps=1500, batch_size=256, lr=1e-3, warmup=100,
                 decay_steps=300, lr_final=2e-4, rounds=12, samples=2048, epochs=2, star_lr=5e-4, n_eval=1024),
}


def _mode(mode) -> str:
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {MODES}, got {mode!r}")
    return mode


@contextmanager
def _one_thread():
    """One torch thread inside the block (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _model(s, rng):
    return build_model(TransformerConfig(d=s["d"], depth=s["depth"], width=s["width"],
                                         heads=s["heads"]), rng=rng)


def _pre(model, p, s, rng) -> dict:
    """NTP pre-training of ``model`` at p_cot = p with the setting ``s``; returns the log of the
    last phase (held-out metrics at its end).

    With ``s["decay_steps"] = k > 0`` the run has two phases (a warm-up/stable/decay schedule):
    ``steps - k`` steps at ``lr`` (after ``warmup``), then k steps at ``lr_final`` with a fresh
    AdamW. At constant lr 1e-3, pi(long) wanders by +-0.07 around p from step to step at d = 16
    (docs/findings_transformer.md), enough to break calibration within 0.05 and to flip greedy
    decoding near the threshold; the low-lr phase measures the model the run converges to.
    Random streams: child 0 of ``rng`` for phase 1, child 1 for phase 2 (``rng`` itself when
    k = 0).
    """
    k = s.get("decay_steps", 0)
    if not k:
        return pretrain(model, p, steps=s["steps"], batch_size=s["batch_size"], lr=s["lr"],
                        warmup=s["warmup"], eval_every=s["steps"], n_eval=s["n_eval"], rng=rng)
    g1, g2 = spawn(rng, 2)
    n1 = s["steps"] - k
    pretrain(model, p, steps=n1, batch_size=s["batch_size"], lr=s["lr"], warmup=s["warmup"],
             eval_every=n1, n_eval=64, rng=g1)  # phase-1 metrics are not used: small held-out set
    return pretrain(model, p, steps=k, batch_size=s["batch_size"], lr=s["lr_final"], warmup=0,
                    eval_every=k, n_eval=s["n_eval"], rng=g2)


def _t1_run(p: float, s: dict, rng) -> dict:
    """One T1 training run (a joblib task): fresh model from child 0 of ``rng``, NTP from child 1."""
    g_init, g_train = spawn(rng, 2)
    with _one_thread():
        log = _pre(_model(s, g_init), p, s, g_train)
    return {k: log[k][-1] for k in ("greedy_accuracy", "pi_long", "pi_long_correct", "mean_length")}


def _ntp_text(s) -> str:
    """The pre-training schedule in words, for captions."""
    k = s.get("decay_steps", 0)
    txt = f"NTP {s['steps']} steps x {s['batch_size']} fresh samples, AdamW lr {s['lr']:g}"
    return txt + (f" (last {k} steps at lr {s['lr_final']:g})" if k else "")


def _se(a, n) -> float:
    """Binomial standard error of a fraction a measured on n inputs."""
    return math.sqrt(max(a * (1 - a), 0.0) / n)


def _write(fig, out_dir, name, caption):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _plot.save(fig, out, name, caption)


def result_t1(out_dir, mode: str = "main", rng=None, jobs: int | None = None) -> FigureResult:
    """T1: NTP threshold of the transformer against the linear closed form.

    Pre-trains one fresh transformer per p in ``T1_SETTINGS[mode]["p_grid"]`` (run i uses
    SeedSequence child i of ``rng``; ``jobs`` processes, default the setting's) and measures on
    ``n_eval`` held-out fresh inputs its greedy accuracy and exact pi(long) at tau = 1. Writes
    T1.png and T1.pdf in ``out_dir``.

    Rows (issue 6): greedy accuracy within ``ACC_TOL`` of 1/2 for every p < 1/3, at least
    ``GENERALISED`` for every p > 1/3, and |pi(long) - p| <= ``CALIB_TOL`` for every p.
    """
    mode = _mode(mode)
    s = T1_SETTINGS[mode]
    jobs = s["jobs"] if jobs is None else check_int("jobs", jobs, 1)
    d, grid = s["d"], np.array(s["p_grid"])  # (P,)
    kids = spawn(rng, len(grid))  # child i for p_grid[i], whatever jobs
    if jobs == 1:
        runs = [_t1_run(float(p), s, g) for p, g in zip(grid, kids)]
    else:
        runs = Parallel(n_jobs=min(jobs, len(grid)))(
            delayed(_t1_run)(float(p), s, g) for p, g in zip(grid, kids))
    acc = np.array([r["greedy_accuracy"] for r in runs])  # (P,)
    pil = np.array([r["pi_long"] for r in runs])  # (P,)
    pf = np.linspace(0.01, 0.99, 197)
    lin_acc = [cf.greedy_probs(cf.ntp_optimum(d, q, LAM), d).p_correct for q in pf]
    lin_long = [cf.trajectory_probs(cf.ntp_optimum(d, q, LAM), d).p_long for q in pf]
    fig, ax = _plot.new(2)
    _plot.line(ax[0], pf, lin_acc, label=f"linear, closed form (lambda={LAM:g})", color="k")
    _plot.markers(ax[0], grid, acc, label="transformer after NTP", color="C1")
    ax[0].axvline(1 / 3, ls=":", color="grey")
    ax[0].set(xlabel="p_cot", ylabel="greedy accuracy", ylim=(0.4, 1.05), title=f"T1 threshold, d={d}")
    _plot.line(ax[1], pf, lin_long, label="linear: pi(long) = p", color="k")
    _plot.markers(ax[1], grid, pil, label="transformer pi(long), tau=1", color="C1")
    ax[1].set(xlabel="p_cot", ylabel="pi(long)", title="length calibration")
    for a in ax:
        a.legend(fontsize=7)
    grid_txt = ", ".join(f"{p:g}" for p in grid)
    caption = (f"T1 ({mode}): transformer depth {s['depth']}, width {s['width']}, d={d}, "
               f"{_ntp_text(s)}, one run per p_cot in "
               f"{{{grid_txt}}}"
               + (" (the full 7-point grid is mode='full')" if mode != "full" else "")
               + f"; metrics on {s['n_eval']} held-out inputs, pi(long) exact at tau=1. Line: linear "
               f"NTP optimum (lambda={LAM:g}); markers: transformer. Dotted: p=1/3.")
    files = _write(fig, out_dir, "T1", caption)
    n = s["n_eval"]
    pairs = ", ".join(f"p={p:g}: acc {a:.3f} long {q:.3f}" for p, a, q in zip(grid, acc, pil))
    summary = f"T1 ({mode}, d={d}): {pairs}"
    rows = []
    lo, hi = grid < 1 / 3, grid > 1 / 3
    if lo.any():
        dev = np.abs(acc[lo] - 0.5)
        rows.append(Row("T1", f"transformer: NTP leaves greedy accuracy at chance for p_cot < 1/3 "
                        f"(issue 6; THEORY §7), d={d}", "1/2 (linear closed form: 1/2)",
                        "; ".join(f"p={p:g}: {a:.3f} +- {_se(a, n):.3f}" for p, a in zip(grid[lo], acc[lo])),
                        bool(np.all(dev <= ACC_TOL)),
                        f"criterion |acc - 1/2| <= {ACC_TOL} for every p (issue 6); max |diff| = {fmt(dev.max())}"))
    if hi.any():
        rows.append(Row("T1", f"transformer: NTP alone generalises for p_cot > 1/3 (issue 6; THEORY §7), d={d}",
                        f">= {GENERALISED} (linear closed form: 1)",
                        "; ".join(f"p={p:g}: {a:.3f}" for p, a in zip(grid[hi], acc[hi])),
                        bool(np.all(acc[hi] >= GENERALISED)),
                        f"criterion acc >= {GENERALISED} for every p; min = {fmt(acc[hi].min(), 4)}"))
    cal = np.abs(pil - grid)
    rows.append(Row("T1", f"transformer: length calibration after NTP, pi(long) = p_cot (issue 6; "
                    f"THEORY §5, §7), d={d}", "p_cot (linear closed form: p_cot)",
                    "; ".join(f"p={p:g}: {q:.3f}" for p, q in zip(grid, pil)),
                    bool(np.all(cal <= CALIB_TOL)),
                    f"criterion |pi(long) - p| <= {CALIB_TOL} for every p (issue 6; pi(long) exact, "
                    f"mean over {n} inputs); max |diff| = {fmt(cal.max())}"))
    return FigureResult("T1", caption, summary, rows, [str(f) for f in files])


def result_t2(out_dir, mode: str = "main", rng=None) -> FigureResult:
    """T2: STaR dynamics after NTP at p_cot = 0.2, against the ideal recursion and the linear
    model's exact STaR map; writes T2.png and T2.pdf.

    ``rng`` is split into three children: model initialisation, pre-training, STaR.

    Rows: greedy accuracy reaches ``GENERALISED`` within the rounds (issue 6); final mean
    sampled length at least 0.9 (d+1) (issue 6's "about d+1"); the long share of round 1's
    kept set equals the ideal 2 p_0/(1+p_0) at the measured p_0 (THEORY §6), within 5 binomial
    standard errors of the kept set.
    """
    mode = _mode(mode)
    s = T2_SETTINGS[mode]
    d, p = s["d"], s["p_cot"]
    g_init, g_pre, g_rl = spawn(rng, 3)
    with _one_thread():
        model = _model(s, g_init)
        pre = _pre(model, p, s, g_pre)
        log = star(model, rounds=s["rounds"], samples=s["samples"], epochs=s["epochs"],
                   batch_size=s["batch_size"], lr=s["star_lr"], n_eval=s["n_eval"], rng=g_rl)
    n = np.arange(s["rounds"] + 1)  # (R+1,)
    ic = ideal_curves(log["pi_long"][0], d, s["rounds"])  # arrays (R+1,) from the measured start
    ideal = ic["pi_long"]
    lin = rcf.star_map(cf.ntp_optimum(d, p, LAM), d, LAM, s["rounds"])
    fig, ax = _plot.new(3)
    _plot.line(ax[0], n, ideal, label="ideal 2p/(1+p) from measured p_0", color="k")
    _plot.line(ax[0], n, lin.p_long, label="linear exact STaR map", color="C0", ls="--")
    _plot.markers(ax[0], n, log["pi_long"], label="transformer", color="C1")
    ax[0].set(xlabel="STaR round", ylabel="pi(long), tau=1", ylim=(0, 1.02))
    _plot.line(ax[1], n, ic["greedy_accuracy"], label="ideal: correct once p_n > 1/3", color="k")
    _plot.line(ax[1], n, lin.greedy_accuracy, label="linear exact STaR map", color="C0", ls="--")
    _plot.markers(ax[1], n, log["greedy_accuracy"], label="transformer", color="C1")
    ax[1].set(xlabel="STaR round", ylabel="greedy accuracy", ylim=(0.4, 1.05))
    _plot.line(ax[2], n, ic["mean_length"], label="ideal", color="k")
    _plot.line(ax[2], n, lin.mean_length, label="linear exact STaR map", color="C0", ls="--")
    _plot.markers(ax[2], n, log["mean_length"], label="transformer", color="C1")
    ax[2].set(xlabel="STaR round", ylabel="mean length (tokens incl. EOS)")
    for a in ax:
        a.legend(fontsize=7)
    caption = (f"T2 ({mode}): d={d}, p_cot={p}, transformer depth {s['depth']}, width {s['width']}, "
               f"{_ntp_text(s)}, then STaR (r_cot, tau=1, {s['samples']} fresh "
               f"inputs/round, {s['epochs']} epochs, lr {s['star_lr']:g}); metrics on {s['n_eval']} held-out "
               f"inputs. Lines: theory (ideal recursion from the measured p_0; linear exact map, "
               f"lambda={LAM:g}); markers: transformer.")
    files = _write(fig, out_dir, "T2", caption)
    acc, L = np.asarray(log["greedy_accuracy"]), np.asarray(log["mean_length"])  # (R+1,)
    first = next((int(k) for k in n if acc[k] >= GENERALISED), None)
    n_star = rcf.n_star(log["pi_long"][0])
    summary = (f"T2 ({mode}, d={d}, p={p}): pi_long {log['pi_long'][0]:.3f} -> {log['pi_long'][-1]:.3f} "
               f"(ideal {ideal[-1]:.3f}), greedy acc {acc[0]:.3f} -> {acc[-1]:.3f} (>= {GENERALISED} "
               f"first at round {first}; ideal n* = {n_star:g}), length {L[0]:.2f} -> {L[-1]:.2f} "
               f"(d+1 = {d + 1}); NTP end: pi(L(x)|x) {pre['pi_long_correct'][-1]:.3f}")
    rows = [Row("T2", f"transformer: STaR after NTP at p_cot={p} raises greedy accuracy to >= {GENERALISED} "
                f"(issue 6; THEORY §6, §7), d={d}",
                f"from round n* = {n_star:g} (ideal recursion from measured p_0 = {log['pi_long'][0]:.3f})",
                f"{acc[0]:.3f} before STaR; first >= {GENERALISED} at round {first}; {acc[-1]:.3f} after "
                f"round {s['rounds']}",
                first is not None and acc[-1] >= GENERALISED,
                f"criterion: reached within {s['rounds']} rounds and held at the last round")]
    se_L = (d / 2) / math.sqrt(s["n_eval"])  # length in [1, d+1]: std <= d/2
    rows.append(Row("T2", f"transformer: STaR grows the mean sampled length to about d+1 = {d + 1} (issue 6)",
                    f">= 0.9 (d+1) = {0.9 * (d + 1):.1f} (ideal recursion after {s['rounds']} rounds: "
                    f"{ic['mean_length'][-1]:.2f})",
                    f"{L[0]:.2f} -> {L[-1]:.2f} +- {se_L:.2f} (one sample per held-out input; se bound)",
                    bool(L[-1] >= 0.9 * (d + 1)), "criterion: final mean length >= 0.9 (d+1)"))
    if len(log["kept_fraction"]):
        p0 = log["pi_long"][0]
        q = ideal[1]  # 2 p_0/(1+p_0)
        n_kept = log["kept_fraction"][0] * s["samples"]
        got = log["kept_long_fraction"][0]
        se = math.sqrt(q * (1 - q) / max(n_kept, 1))
        ok = abs(got - q) <= 5 * se
        rows.append(Row("T2", "STaR round 1: long share of the kept set = 2 p_0/(1+p_0) (THEORY §6, ideal "
                        "recursion; long answers right, short right half the time)",
                        f"{q:.3f} (p_0 = {p0:.3f}, measured pi(long))",
                        f"{got:.3f} of {n_kept:.0f} kept; pi(long) after round 1 fine-tuning: "
                        f"{log['pi_long'][1]:.3f}",
                        bool(ok), f"|diff| = {fmt(abs(got - q))} vs 5 binomial se = {fmt(5 * se)}"))
    return FigureResult("T2", caption, summary, rows, [str(f) for f in files])
