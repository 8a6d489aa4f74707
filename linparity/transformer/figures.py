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

``quick=True`` is a smoke configuration (d = 6, tiny model, well under a minute on 2 cores);
``quick=False`` is the issue's setting (d = 16, width 64, depth 2; several minutes per run).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .. import closed_form as cf
from .. import rl_closed_form as rcf
from .._checks import spawn
from ..figures import _plot
from .model import TransformerConfig, build_model
from .train import pretrain, star

__all__ = ["figure_t1", "figure_t2", "T1_SETTINGS", "T2_SETTINGS"]

#: linear-model regularisation used for the overlaid closed form (small: close to lam -> 0)
LAM = 1e-3

T1_SETTINGS = {
    True: dict(d=6, depth=2, width=32, heads=2, steps=400, batch_size=64, lr=3e-3, warmup=20,
               p_grid=(0.1, 0.2, 0.45, 0.6), n_eval=512),
    False: dict(d=16, depth=2, width=64, heads=4, steps=1500, batch_size=256, lr=1e-3, warmup=100,
                p_grid=(0.1, 0.2, 0.25, 0.3, 0.4, 0.45, 0.6), n_eval=1024),
}
T2_SETTINGS = {
    True: dict(d=6, depth=2, width=32, heads=2, p_cot=0.2, steps=800, batch_size=64, lr=3e-3,
               warmup=20, rounds=4, samples=512, epochs=2, star_lr=1.5e-3, n_eval=512),
    False: dict(d=16, depth=2, width=64, heads=4, p_cot=0.2, steps=1500, batch_size=256, lr=1e-3,
                warmup=100, rounds=12, samples=2048, epochs=2, star_lr=5e-4, n_eval=1024),
}


@contextmanager
def _threads(quick):
    """Quick mode runs tiny tensors: one torch thread is faster there (restored afterwards)."""
    n = torch.get_num_threads()
    if quick:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _model(s, rng):
    return build_model(TransformerConfig(d=s["d"], depth=s["depth"], width=s["width"],
                                         heads=s["heads"]), rng=rng)


def _pre(model, p, s, rng):
    return pretrain(model, p, steps=s["steps"], batch_size=s["batch_size"], lr=s["lr"],
                    warmup=s["warmup"], eval_every=s["steps"], n_eval=s["n_eval"], rng=rng)


def figure_t1(out_dir, quick: bool = True, rng=None) -> str:
    """T1: NTP threshold. Pre-trains one transformer per p in the grid and plots its final
    greedy accuracy and pi(long) against the linear closed form; writes T1.png and T1.pdf in
    ``out_dir`` and returns a one-line summary."""
    s = T1_SETTINGS[bool(quick)]
    d, grid = s["d"], np.array(s["p_grid"])
    kids = spawn(rng, len(grid))
    acc, pil = [], []
    for p, g in zip(grid, kids):
        g_init, g_train = spawn(g, 2)
        with _threads(quick):
            log = _pre(_model(s, g_init), float(p), s, g_train)
        acc.append(log["greedy_accuracy"][-1])
        pil.append(log["pi_long"][-1])
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
    mode = "quick" if quick else "full"
    caption = (f"T1 ({mode}): depth {s['depth']}, width {s['width']}, {s['steps']} steps x "
               f"{s['batch_size']} fresh samples. Line: linear NTP optimum; markers: transformer.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _plot.save(fig, out, "T1", caption)
    pairs = ", ".join(f"p={p:g}: acc {a:.2f} long {q:.2f}" for p, a, q in zip(grid, acc, pil))
    return f"T1 ({mode}, d={d}): {pairs}"


def figure_t2(out_dir, quick: bool = True, rng=None) -> str:
    """T2: STaR dynamics after NTP at p_cot = 0.2, against the ideal recursion and the linear
    model's exact STaR map; writes T2.png and T2.pdf and returns a one-line summary."""
    s = T2_SETTINGS[bool(quick)]
    d, p = s["d"], s["p_cot"]
    g_init, g_pre, g_rl = spawn(rng, 3)
    with _threads(quick):
        model = _model(s, g_init)
        _pre(model, p, s, g_pre)
        log = star(model, rounds=s["rounds"], samples=s["samples"], epochs=s["epochs"],
                   batch_size=s["batch_size"], lr=s["star_lr"], n_eval=s["n_eval"], rng=g_rl)
    n = np.arange(s["rounds"] + 1)
    ideal = rcf.ideal_recursion(log["pi_long"][0], s["rounds"])  # from the measured start
    lin = rcf.star_map(cf.ntp_optimum(d, p, LAM), d, LAM, s["rounds"])
    fig, ax = _plot.new(3)
    _plot.line(ax[0], n, ideal, label="ideal 2p/(1+p) from measured p_0", color="k")
    _plot.line(ax[0], n, lin.p_long, label="linear exact STaR map", color="C0", ls="--")
    _plot.markers(ax[0], n, log["pi_long"], label="transformer", color="C1")
    ax[0].set(xlabel="STaR round", ylabel="pi(long), tau=1", ylim=(0, 1.02))
    _plot.line(ax[1], n, np.where(ideal > 1 / 3, 1.0, 0.5), label="ideal: correct once p_n > 1/3", color="k")
    _plot.line(ax[1], n, lin.greedy_accuracy, label="linear exact STaR map", color="C0", ls="--")
    _plot.markers(ax[1], n, log["greedy_accuracy"], label="transformer", color="C1")
    ax[1].set(xlabel="STaR round", ylabel="greedy accuracy", ylim=(0.4, 1.05))
    _plot.line(ax[2], n, 2 * (1 - ideal) + (d + 1) * ideal, label="ideal", color="k")
    _plot.line(ax[2], n, lin.mean_length, label="linear exact STaR map", color="C0", ls="--")
    _plot.markers(ax[2], n, log["mean_length"], label="transformer", color="C1")
    ax[2].set(xlabel="STaR round", ylabel="mean length (tokens incl. EOS)")
    for a in ax:
        a.legend(fontsize=7)
    mode = "quick" if quick else "full"
    caption = (f"T2 ({mode}): d={d}, p_cot={p}, NTP {s['steps']} steps, then STaR (r_cot, tau=1, "
               f"{s['samples']} inputs/round, {s['epochs']} epochs). Lines: theory; markers: transformer.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _plot.save(fig, out, "T2", caption)
    first = next((int(k) for k in n if log["greedy_accuracy"][k] >= 0.99), None)
    return (f"T2 ({mode}, d={d}, p={p}): pi_long {log['pi_long'][0]:.2f} -> {log['pi_long'][-1]:.2f}, "
            f"greedy acc {log['greedy_accuracy'][0]:.2f} -> {log['greedy_accuracy'][-1]:.2f} "
            f"(>= 0.99 at round {first}), length {log['mean_length'][0]:.1f} -> "
            f"{log['mean_length'][-1]:.1f}; ideal predicts >= 0.99 from round {rcf.n_star(p):g}")

