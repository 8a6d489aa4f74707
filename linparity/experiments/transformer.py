"""Transformer experiments behind figures T1-T6 (needs torch).

Everything the transformer figures draw is computed here: the training runs (through the sweep
engine, so finished runs are reused from ``<out>/sweeps/T<k>-<scale>``) and the linear model's
closed-form reference curves. :mod:`linparity.figures.transformer` only plots and writes rows.

Not imported by ``linparity.experiments`` (torch is an optional extra); sweep specs name this
module in ``imports``. Tasks registered with :mod:`linparity.sweep`:

* ``linparity.transformer.ntp``: pre-train one fresh model at one p_cot (T1, T3, T6);
* ``linparity.transformer.star``: pre-train, then STaR (T2);
* ``linparity.transformer.rl_grid``: pre-train once, then one RL algorithm for every
  (reward, temperature) pair from that checkpoint (T4);
* ``linparity.transformer.early``: one pre-training run with snapshots at several lengths, then
  STaR from each snapshot (T5).

Seeds. Every task takes its seed from its parameters, ``seed = [entropy, *spawn_key]``
(``SeedSequence(entropy, spawn_key=spawn_key)``), not from the engine's task index: T1 run i keeps
the stream it had before the sweep engine (child i of ``SeedSequence(S, spawn_key=(8,))``), T2
the stream ``SeedSequence(S, spawn_key=(9,))``, and the digest of the parameters (seed included)
keys the cache. Every task trains with one torch thread (restored afterwards): at these sizes a
second thread is slower on a shared 2-core machine, and a fixed count keeps a run reproducible
(the thread count changes float reductions).

Configurations (``mode``):

* T1/T2 keep the ``"tiny"`` (the GPU script's CPU dry run), ``"quick"`` (d = 6, smoke test), ``"main"`` (what
  ``python -m linparity.figures`` runs: d = 16, depth 2, width 64, 800 NTP steps x 256) and
  ``"full"`` (1,500 steps, 7 p values, 12 rounds).
* T3-T6 have ``"tiny"`` (tests), ``"main"`` (full figure mode: d = 12, depth 2, width 64, 600 NTP
  steps x 128 fresh samples; sized so that T1-T6 together take about 10 minutes on 2 cores) and
  ``"large"`` (``--only T3 --scale large``: d = 25 for the threshold sweep, the paper's d).
* ``"paper"`` (``--scale paper --device cuda``, a GPU; benchmarks/gpu_paper.sh): T1/T2 at d = 50
  (depth 2, width 128, 3,000 NTP steps x 256), T3 at d = 25 (1,500 steps, one seed per p). Not yet
  run on a GPU.
* ``seeds`` (T3-T6) is a setting: the runs are independent, so S seeds cost S times one seed's time.
"""
from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .. import closed_form as cf
from .._checks import check_int, spawn
from ..sweep import SweepSpec, register_task, run_sweep
from ..transformer.model import TransformerConfig, build_model
from ..transformer.train import evaluate, grpo, pretrain, reinforce, resolve_device, star
from .star import ideal_curves

__all__ = ["LAM", "ACC_TOL", "CALIB_TOL", "GENERALISED", "MODES", "T1_SETTINGS", "T2_SETTINGS",
           "T3_SETTINGS", "T4_SETTINGS", "T5_SETTINGS", "T6_SETTINGS", "one_thread", "ntp_text",
           "binomial_se", "t1_data", "t2_data", "t3_data", "t4_data", "t5_data", "t6_data",
           "ntp_task", "star_task", "rl_grid_task", "early_task", "linear_threshold_curves",
           "resolve_device", "run_seed", "settings_of", "run_points"]

#: linear-model regularisation used for the overlaid closed form (small: close to lam -> 0)
LAM = 1e-3
#: the criteria: greedy accuracy "within 0.05 of 0.5", pi(long) "within 0.05 of p_cot",
#: accuracy ">= 0.99" counts as generalised
ACC_TOL, CALIB_TOL, GENERALISED = 0.05, 0.05, 0.99
MODES = ("tiny", "quick", "main", "full", "paper")

_MODEL_QUICK = dict(d=6, depth=2, width=32, heads=2)
_MODEL_D16 = dict(d=16, depth=2, width=64, heads=4)
#: the paper's main size (THEORY §7), first configuration: d = 50, depth 2, width 128 (a GPU)
_MODEL_D50 = dict(d=50, depth=2, width=128, heads=4)
#: T1 settings per mode. Fields: model (d, depth, width, heads); steps and batch_size of online
#: NTP in total (fresh samples each step); lr and warmup (linear warm-up steps) of AdamW;
#: decay_steps and lr_final (the last decay_steps steps run at lr_final, see ``_pre``; absent = 0);
#: p_grid (p_cot values, one run each); n_eval (held-out fresh inputs for the metrics); jobs
#: (processes).
T1_SETTINGS = {
    "tiny": dict(d=4, depth=1, width=16, heads=2, steps=6, batch_size=16, lr=3e-3, warmup=0, n_eval=32,
                 p_grid=(0.2, 0.45), jobs=1),
    "quick": dict(**_MODEL_QUICK, steps=400, batch_size=64, lr=3e-3, warmup=20,
                  p_grid=(0.1, 0.2, 0.45, 0.6), n_eval=512, jobs=1),
    "main": dict(**_MODEL_D16, steps=800, batch_size=256, lr=1e-3, warmup=100, decay_steps=200,
                 lr_final=2e-4, p_grid=(0.1, 0.2, 0.45, 0.6), n_eval=1024, jobs=2),
    "full": dict(**_MODEL_D16, steps=1500, batch_size=256, lr=1e-3, warmup=100, decay_steps=300,
                 lr_final=2e-4, p_grid=(0.1, 0.2, 0.25, 0.3, 0.4, 0.45, 0.6), n_eval=1024, jobs=2),
    "paper": dict(**_MODEL_D50, steps=3000, batch_size=256, lr=1e-3, warmup=100, decay_steps=500,
                  lr_final=2e-4, p_grid=(0.2, 0.45), n_eval=1024, jobs=1, device="cuda"),
}
#: T2 settings per mode: the NTP fields of T1 at one p_cot, then STaR: rounds, samples (fresh
#: inputs per round), epochs (passes over the kept set per round), star_lr (AdamW).
T2_SETTINGS = {
    "tiny": dict(d=4, depth=1, width=16, heads=2, p_cot=0.2, steps=6, batch_size=16, lr=3e-3, warmup=0,
                 rounds=1, samples=32, epochs=1, star_lr=1e-3, n_eval=32),
    "quick": dict(**_MODEL_QUICK, p_cot=0.2, steps=800, batch_size=64, lr=3e-3, warmup=20,
                  rounds=4, samples=512, epochs=2, star_lr=1.5e-3, n_eval=512),
    "main": dict(**_MODEL_D16, p_cot=0.2, steps=800, batch_size=256, lr=1e-3, warmup=100,
                 decay_steps=200, lr_final=2e-4, rounds=8, samples=2048, epochs=2, star_lr=5e-4, n_eval=1024),
    "full": dict(**_MODEL_D16, p_cot=0.2, steps=1500, batch_size=256, lr=1e-3, warmup=100,
                 decay_steps=300, lr_final=2e-4, rounds=12, samples=2048, epochs=2, star_lr=5e-4, n_eval=1024),
    "paper": dict(**_MODEL_D50, p_cot=0.25, steps=3000, batch_size=256, lr=1e-3, warmup=100, decay_steps=500,
                  lr_final=2e-4, rounds=8, samples=4096, epochs=2, star_lr=5e-4, n_eval=1024, device="cuda"),
}

_MODEL_TINY = dict(d=4, depth=1, width=16, heads=2)
_MODEL_D12 = dict(d=12, depth=2, width=64, heads=4)
_NTP_TINY = dict(steps=6, batch_size=16, lr=3e-3, warmup=0, n_eval=32)
_NTP_D12 = dict(steps=600, batch_size=128, lr=1e-3, warmup=50, decay_steps=150, lr_final=2e-4, n_eval=1024)
#: T3 (threshold sweep): 7 p values around 1/3, ``seeds`` runs each
T3_SETTINGS = {
    "tiny": dict(**_MODEL_TINY, **_NTP_TINY, p_grid=(0.2, 0.45), seeds=1),
    "main": dict(**_MODEL_D12, **_NTP_D12, p_grid=(0.2, 0.25, 0.3, 0.333, 0.37, 0.4, 0.45), seeds=1),
    "large": dict(d=25, depth=2, width=128, heads=4, steps=2000, batch_size=256, lr=1e-3, warmup=100,
                  decay_steps=400, lr_final=2e-4, n_eval=1024,
                  p_grid=(0.2, 0.25, 0.3, 0.333, 0.37, 0.4, 0.45), seeds=3),
    "paper": dict(d=25, depth=2, width=128, heads=4, steps=1500, batch_size=256, lr=1e-3, warmup=100,
                  decay_steps=300, lr_final=2e-4, n_eval=1024,
                  p_grid=(0.2, 0.25, 0.3, 0.333, 0.37, 0.4, 0.45), seeds=1, device="cuda"),
}
#: T4 (RL grid): pre-train at p_cot, then every algorithm x reward x temperature. STaR: rounds of
#: ``star_samples`` inputs, 1 epoch, lr star_lr; REINFORCE: pg_steps of pg_batch inputs; GRPO:
#: pg_steps of pg_batch/group inputs x group responses (the same responses per step), lr pg_lr.
_RL_MAIN = dict(rounds=6, star_samples=1024, star_lr=5e-4, pg_steps=20, pg_batch=256, group=8,
                pg_lr=3e-4, rl_batch=128, rl_eval=512)
T4_SETTINGS = {
    "tiny": dict(**_MODEL_TINY, **_NTP_TINY, p_cot=0.2, rounds=1, star_samples=32, star_lr=1e-3, pg_steps=2,
                 pg_batch=16, group=4, pg_lr=1e-3, rl_batch=16, rl_eval=32, algos=("star", "reinforce", "grpo"),
                 rewards=("cot", "e2e"), temperatures=(0.75, 1.0, 1.5), seeds=1),
    "main": dict(**_MODEL_D12, **_NTP_D12, p_cot=0.2, **_RL_MAIN, algos=("star", "reinforce", "grpo"),
                 rewards=("cot", "e2e"), temperatures=(0.75, 1.0, 1.5), seeds=1),
}
#: T5 (too early): one NTP run at p_cot, snapshots after each of ``lengths`` steps (the last one
#: is the run's end), STaR from each snapshot with each reward
T5_SETTINGS = {
    "tiny": dict(**_MODEL_TINY, **_NTP_TINY, p_cot=0.2, lengths=(2, 6), rounds=1, star_samples=32,
                 star_lr=1e-3, rl_batch=16, rl_eval=32, rewards=("cot",), seeds=1),
    "main": dict(**_MODEL_D12, **_NTP_D12, p_cot=0.2, lengths=(50, 100, 200, 600), rounds=6, star_samples=1024,
                 star_lr=5e-4, rl_batch=128, rl_eval=512, rewards=("cot", "e2e"), seeds=1),
}
#: T6 (leap-2 partial chains): the T3 sweep with chain="leap2", p values mostly below 1/3
T6_SETTINGS = {
    "tiny": dict(**_MODEL_TINY, **_NTP_TINY, p_grid=(0.2, 0.45), seeds=1),
    "main": dict(**_MODEL_D12, **_NTP_D12, p_grid=(0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4), seeds=1),
}


# ------------------------------------------------------------------------------ helpers
@contextmanager
def one_thread():
    """One torch thread inside the block (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _model(s, rng):
    return build_model(TransformerConfig(d=s["d"], depth=s["depth"], width=s["width"],
                                         heads=s["heads"]), rng=rng, device=s.get("device", "cpu"))


def _pre(model, p, s, rng, chain="full") -> dict:
    """NTP pre-training of ``model`` at p_cot = p with the setting ``s``; returns the log of the
    last phase (held-out metrics at its end).

    With ``s["decay_steps"] = k > 0`` the run has two phases (a warm-up/stable/decay schedule):
    ``steps - k`` steps at ``lr`` (after ``warmup``), then k steps at ``lr_final`` with a fresh
    AdamW. At constant lr 1e-3, pi(long) wanders by +-0.07 around p from step to step at d = 16
    (docs/claims/transformer.md), enough to break calibration within 0.05 and to flip greedy
    decoding near the threshold; the low-lr phase measures the model the run converges to.
    Random streams: child 0 of ``rng`` for phase 1, child 1 for phase 2 (``rng`` itself when
    k = 0).
    """
    k = s.get("decay_steps", 0)
    if not k:
        return pretrain(model, p, steps=s["steps"], batch_size=s["batch_size"], lr=s["lr"],
                        warmup=s["warmup"], eval_every=s["steps"], n_eval=s["n_eval"], rng=rng, chain=chain)
    g1, g2 = spawn(rng, 2)
    n1 = s["steps"] - k
    pretrain(model, p, steps=n1, batch_size=s["batch_size"], lr=s["lr"], warmup=s["warmup"],
             eval_every=n1, n_eval=64, rng=g1, chain=chain)  # phase-1 metrics unused: small held-out set
    return pretrain(model, p, steps=k, batch_size=s["batch_size"], lr=s["lr_final"], warmup=0,
                    eval_every=k, n_eval=s["n_eval"], rng=g2, chain=chain)


def ntp_text(s) -> str:
    """The pre-training schedule in words, for captions."""
    k = s.get("decay_steps", 0)
    txt = f"NTP {s['steps']} steps x {s['batch_size']} fresh samples, AdamW lr {s['lr']:g}"
    return txt + (f" (last {k} steps at lr {s['lr_final']:g})" if k else "")


def binomial_se(a, n) -> float:
    """Binomial standard error of a fraction a measured on n inputs."""
    return math.sqrt(max(a * (1 - a), 0.0) / n)


def run_seed(params) -> np.random.SeedSequence:
    """The SeedSequence of a run from its parameters: ``params["seed"] = [entropy, *spawn_key]``."""
    e, *key = params["seed"]
    return np.random.SeedSequence(int(e), spawn_key=tuple(int(k) for k in key))


def settings_of(table, mode, device=None, seeds=None) -> dict:
    """The setting ``table[mode]``; ``device`` and ``seeds`` (when given) replace its device (default
    cpu) and replicate count, so that the runs' cache key names them (seed r of S runs the same
    stream whatever S: more seeds add runs, they do not change the first ones)."""
    if mode not in table:
        raise ValueError(f"mode: must be one of {tuple(table)}, got {mode!r}")
    over = {k: v for k, v in (("device", device), ("seeds", seeds)) if v is not None}
    if "seeds" in over:
        over["seeds"] = check_int("seeds", seeds, 1)
    return {**table[mode], **over}


def run_points(task, points, out_dir, name, jobs, progress, imports=("linparity.experiments.transformer",)):
    """Run (or reuse from ``out_dir/sweeps/name``) one task per point (registered by a module of
    ``imports``); returns the results in point order (one dict of arrays each)."""
    pts = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()} for p in points]
    spec = SweepSpec(task=task, points=pts, replicates=1, seed=0,
                     out=str(Path(out_dir) / "sweeps" / name), imports=list(imports))
    sw = run_sweep(spec, jobs=min(max(jobs, 1), len(pts)), progress=progress)
    return [{k: np.asarray(v) for k, v in sw.results[i][0].items()} for i in range(len(pts))]


_METRICS = ("greedy_accuracy", "greedy_length", "pi_long", "pi_long_correct", "mean_length", "long_fraction")


# ------------------------------------------------------------------------------ sweep tasks
@register_task("linparity.transformer.ntp")
def ntp_task(params: dict, rng=None) -> dict:
    """Pre-train a fresh model at ``params["p"]`` (chain ``params.get("chain", "full")``) with the
    setting ``params["s"]``; returns the final held-out metrics (floats). Seed: ``params["seed"]``
    split into (initialisation, NTP) children, as T1 always did."""
    s = params["s"]
    g_init, g_train = spawn(np.random.default_rng(run_seed(params)), 2)
    with one_thread():
        log = _pre(_model(s, g_init), float(params["p"]), s, g_train, params.get("chain", "full"))
    return {k: float(log[k][-1]) for k in _METRICS}


@register_task("linparity.transformer.star")
def star_task(params: dict, rng=None) -> dict:
    """T2: fresh model, NTP at s["p_cot"], then STaR (r_cot, tau = 1); seed children (init, NTP,
    STaR). Returns the STaR log's per-round arrays and the NTP end's pi(L(x)|x)."""
    s = params["s"]
    g_init, g_pre, g_rl = spawn(run_seed(params), 3)
    with one_thread():
        model = _model(s, g_init)
        pre = _pre(model, s["p_cot"], s, g_pre)
        log = star(model, rounds=s["rounds"], samples=s["samples"], epochs=s["epochs"],
                   batch_size=s["batch_size"], lr=s["star_lr"], n_eval=s["n_eval"], rng=g_rl)
    out = {k: np.asarray(log[k], dtype=float) for k in ("pi_long", "greedy_accuracy", "mean_length",
                                                        "kept_fraction", "kept_long_fraction")}
    out["pre_pi_long_correct"] = float(pre["pi_long_correct"][-1])
    return out


def _rl_run(model, algo, reward, tau, s, rng) -> dict:
    """One RL run of ``algo`` from ``model`` (modified in place); the log dict."""
    common = dict(reward=reward, temperature=tau, n_eval=s["rl_eval"], rng=rng)
    if algo == "star":
        return star(model, rounds=s["rounds"], samples=s["star_samples"], epochs=1, batch_size=s["rl_batch"],
                    lr=s["star_lr"], **common)
    every = max(1, s["pg_steps"] // 6)
    if algo == "reinforce":
        return reinforce(model, steps=s["pg_steps"], batch_size=s["pg_batch"], lr=s["pg_lr"], eval_every=every,
                         **common)
    return grpo(model, steps=s["pg_steps"], batch_size=s["pg_batch"] // s["group"], group=s["group"],
                lr=s["pg_lr"], eval_every=every, **common)


@register_task("linparity.transformer.rl_grid")
def rl_grid_task(params: dict, rng=None) -> dict:
    """T4, one algorithm: NTP once at s["p_cot"] (seed children: init, NTP), then from a copy of
    that checkpoint one run per (reward, temperature) (seed child 2 + k for pair k). Returns, per
    pair ``k`` in ``rewards x temperatures`` order, ``acc_k``, ``long_k``, ``len_k`` (held-out
    greedy accuracy, exact pi(long), sampled mean length per evaluation) and ``steps_k``."""
    s, algo = params["s"], params["algo"]
    pairs = [(r, t) for r in s["rewards"] for t in s["temperatures"]]
    kids = spawn(run_seed(params), 2 + len(pairs))
    out = {}
    with one_thread():
        base = _model(s, kids[0])
        pre = _pre(base, s["p_cot"], s, kids[1])
        out["pre_pi_long"] = float(pre["pi_long"][-1])
        out["pre_pi_long_correct"] = float(pre["pi_long_correct"][-1])
        out["pre_greedy_accuracy"] = float(pre["greedy_accuracy"][-1])
        for k, (r, t) in enumerate(pairs):
            log = _rl_run(copy.deepcopy(base), algo, r, float(t), s, kids[2 + k])
            out[f"acc_{k}"] = np.asarray(log["greedy_accuracy"], float)
            out[f"long_{k}"] = np.asarray(log["pi_long"], float)
            out[f"len_{k}"] = np.asarray(log["mean_length"], float)
            out[f"steps_{k}"] = np.asarray(log["eval_steps"], float)
    return out


@register_task("linparity.transformer.early")
def early_task(params: dict, rng=None) -> dict:
    """T5: one NTP run at s["p_cot"] of max(lengths) steps at constant lr (no decay phase, so an
    early snapshot is what the run passes through), snapshots after each length, then STaR from
    each snapshot with each reward (seed children: init, NTP, then one per (length, reward)).
    Returns ``pre_<metric>`` ``(K,)`` at the snapshots and ``acc``, ``long``, ``len``,
    ``long_correct`` ``(K, n_rewards, rounds+1)`` per STaR round."""
    s = params["s"]
    L = [int(x) for x in s["lengths"]]
    K, nr = len(L), len(s["rewards"])
    kids = spawn(run_seed(params), 2 + K * nr)
    snaps = []
    with one_thread():
        model = _model(s, kids[0])
        g_data = kids[1]
        done = 0
        for i, T in enumerate(L):
            pretrain(model, s["p_cot"], steps=T - done, batch_size=s["batch_size"], lr=s["lr"],
                     warmup=s["warmup"] if done == 0 else 0, eval_every=max(T - done, 1), n_eval=16, rng=g_data)
            done = T
            snaps.append(copy.deepcopy(model))
        out = {f"pre_{k}": np.zeros(K) for k in _METRICS}
        R = s["rounds"] + 1
        for k in ("acc", "long", "len", "long_correct"):
            out[k] = np.zeros((K, nr, R))
        for i, snap in enumerate(snaps):
            X_eval = np.random.default_rng(run_seed(params)).choice([-1, 1], size=(s["rl_eval"], s["d"])).astype(np.int8)
            m = evaluate(snap, X_eval)
            for k in _METRICS:
                out[f"pre_{k}"][i] = m[k]
            for j, r in enumerate(s["rewards"]):
                log = star(copy.deepcopy(snap), reward=r, rounds=s["rounds"], samples=s["star_samples"], epochs=1,
                           batch_size=s["rl_batch"], lr=s["star_lr"], n_eval=s["rl_eval"], rng=kids[2 + i * nr + j])
                out["acc"][i, j] = log["greedy_accuracy"]
                out["long"][i, j] = log["pi_long"]
                out["len"][i, j] = log["mean_length"]
                out["long_correct"][i, j] = log["pi_long_correct"]
    return out


# ------------------------------------------------------------------------------ figure data
def linear_threshold_curves(d, n=197) -> dict:
    """The linear model's regularised NTP optimum (lambda = LAM) against p: greedy accuracy
    (a step at 1/3) and p_long (= p), arrays ``(n,)`` (closed_form, THEORY §4-5)."""
    pf = np.linspace(0.01, 0.99, n)
    opt = [cf.ntp_optimum(d, q, LAM) for q in pf]
    return {"p": pf, "greedy_accuracy": np.array([cf.greedy_probs(o, d).p_correct for o in opt]),
            "p_long": np.array([cf.trajectory_probs(o, d).p_long for o in opt])}


def _points_ntp(s, grid, seeds, chain="full"):
    return [{"s": s, "p": float(p), "chain": chain, "seed": seeds[i]} for i, p in enumerate(grid)]


def t1_data(out_dir, mode, ss, jobs=None, progress=False, device=None) -> dict:
    """T1 runs (one per p, SeedSequence child i of ``ss`` for p_grid[i]) and the linear curves.

    Returns s (the setting), grid ``(P,)``, acc / pi_long ``(P,)``, lin (linear_threshold_curves)."""
    s = settings_of(T1_SETTINGS, mode, device)
    jobs = s["jobs"] if jobs is None else check_int("jobs", jobs, 1)
    grid = np.array(s["p_grid"])  # (P,)
    seeds = [[int(ss.entropy), *ss.spawn_key, i] for i in range(len(grid))]
    res = run_points("linparity.transformer.ntp", _points_ntp(s, grid, seeds), out_dir, f"T1-{mode}", jobs, progress)
    return {"s": s, "grid": grid, "acc": np.array([float(r["greedy_accuracy"]) for r in res]),
            "pi_long": np.array([float(r["pi_long"]) for r in res]), "lin": linear_threshold_curves(s["d"])}


def t2_data(out_dir, mode, ss, progress=False, device=None) -> dict:
    """T2: the STaR run (seed ``ss``), the ideal recursion from the measured p_0 and the linear
    model's exact STaR map (closed_form.star_map at the lambda = LAM NTP optimum)."""
    s = settings_of(T2_SETTINGS, mode, device)
    seed = [int(ss.entropy), *ss.spawn_key]
    log = run_points("linparity.transformer.star", [{"s": s, "seed": seed}], out_dir, f"T2-{mode}", 1, progress)[0]
    lin = cf.star_map(cf.ntp_optimum(s["d"], s["p_cot"], LAM), s["d"], LAM, s["rounds"])
    p0 = float(log["pi_long"][0])
    return {"s": s, "log": log, "ideal": ideal_curves(p0, s["d"], s["rounds"]),
            "lin": {"p_long": np.asarray(lin.p_long), "greedy_accuracy": np.asarray(lin.greedy_accuracy),
                    "mean_length": np.asarray(lin.mean_length)}, "n_star": float(cf.n_star(p0))}


def _grid_data(table, name, out_dir, mode, ss, jobs, progress, chain, device=None, seeds=None):
    s = settings_of(table, mode, device, seeds)
    grid = np.array(s["p_grid"])  # (P,)
    S = int(s["seeds"])
    pts = [{"s": s, "p": float(p), "chain": chain, "seed": [int(ss.entropy), *ss.spawn_key, i, r]}
           for i, p in enumerate(grid) for r in range(S)]
    res = run_points("linparity.transformer.ntp", pts, out_dir, f"{name}-{mode}", jobs, progress)
    get = lambda k: np.array([float(r[k]) for r in res]).reshape(len(grid), S)  # noqa: E731  (P, S)
    return {"s": s, "grid": grid, "acc": get("greedy_accuracy"), "pi_long": get("pi_long"),
            "pi_long_correct": get("pi_long_correct"), "lin": linear_threshold_curves(s["d"])}


def t3_data(out_dir, mode, ss, jobs=2, progress=False, device=None, seeds=None) -> dict:
    """T3: the threshold sweep, ``seeds`` fresh runs per p (seed [.., i, r] for p_grid[i], seed r);
    acc, pi_long, pi_long_correct ``(P, S)``; the linear curves."""
    return _grid_data(T3_SETTINGS, "T3", out_dir, mode, ss, jobs, progress, "full", device, seeds)


def t6_data(out_dir, mode, ss, jobs=2, progress=False, device=None, seeds=None) -> dict:
    """T6: the threshold sweep on D(p) with leap-2 partial chains (``Mixture(chain='leap2')``)."""
    return _grid_data(T6_SETTINGS, "T6", out_dir, mode, ss, jobs, progress, "leap2", device, seeds)


def t4_data(out_dir, mode, ss, jobs=2, progress=False, device=None, seeds=None) -> dict:
    """T4: per algorithm (and seed) one pre-training at p_cot, then the reward x temperature grid.

    Returns s, pairs [(reward, tau)], and per algorithm ``acc``/``long``/``len``: lists over seeds of
    lists over pairs of per-evaluation arrays; ``pre`` the checkpoints' metrics."""
    s = settings_of(T4_SETTINGS, mode, device, seeds)
    pairs = [(r, float(t)) for r in s["rewards"] for t in s["temperatures"]]
    S = int(s["seeds"])
    # one checkpoint per seed, shared by the three algorithms: the NTP children do not depend on algo
    pts = [{"s": s, "algo": a, "seed": [int(ss.entropy), *ss.spawn_key, r]} for a in s["algos"] for r in range(S)]
    res = run_points("linparity.transformer.rl_grid", pts, out_dir, f"T4-{mode}", jobs, progress)
    out = {"s": s, "pairs": pairs, "runs": {}}
    for ia, a in enumerate(s["algos"]):
        rs = res[ia * S:(ia + 1) * S]
        out["runs"][a] = {k: [[r[f"{k}_{j}"] for j in range(len(pairs))] for r in rs]
                          for k in ("acc", "long", "len", "steps")}
        out["runs"][a]["pre"] = [{k: float(r[f"pre_{k}"]) for k in ("pi_long", "pi_long_correct",
                                                                     "greedy_accuracy")} for r in rs]
    return out


def t5_data(out_dir, mode, ss, jobs=1, progress=False, device=None, seeds=None) -> dict:
    """T5: STaR from snapshots of one NTP run; arrays ``(S, K, n_rewards, rounds+1)`` and the
    snapshots' metrics ``(S, K)``."""
    s = settings_of(T5_SETTINGS, mode, device, seeds)
    S = int(s["seeds"])
    pts = [{"s": s, "seed": [int(ss.entropy), *ss.spawn_key, r]} for r in range(S)]
    res = run_points("linparity.transformer.early", pts, out_dir, f"T5-{mode}", jobs, progress)
    out = {"s": s}
    for k in res[0]:
        out[k] = np.stack([r[k] for r in res])
    return out
