"""Command line of ``python -m linparity.figures``.

Flags: ``--quick`` (small sizes; < 60 s on 2 cores), ``--only F3,F5``, ``--jobs N`` (sweep
workers), ``--out DIR`` (default ``figures``), ``--seed S``, ``--no-progress``. Bad flags print
one line on stderr and exit with status 2.

Seeds: figure Fk (k = 1..8) uses child k-1 of ``SeedSequence(S)``
(``SeedSequence(S, spawn_key=(k-1,))``), T1/T2 children 8/9, F9-F11 children 10-12
(:data:`SEED_KEYS`), so ``--only`` and ``--jobs`` never change a figure's numbers.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from . import extensions, policy, pretraining, scaling, star
from .report import write_report
from .settings import FULL, QUICK

__all__ = ["FIGURES", "main", "run_figures", "build_parser"]

#: figure name -> function(settings, SeedSequence, out, jobs, progress) -> FigureResult
FIGURES = {"F1": pretraining.f1, "F2": pretraining.f2, "F3": star.f3, "F4": star.f4,
           "F5": scaling.f5, "F6": pretraining.f6, "F7": policy.f7, "F8": star.f8,
           "F9": extensions.f9, "F10": extensions.f10, "F11": extensions.f11}

#: SeedSequence child of each figure: F1-F8 use k-1, T1/T2 8 and 9, so F9-F11 take 10-12
#: (adding figures never changes an existing figure's numbers)
SEED_KEYS = {**{f"F{k}": k - 1 for k in range(1, 9)}, "T1": 8, "T2": 9, "F9": 10, "F10": 11, "F11": 12}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m linparity.figures", description="theorem figures F1-F11 and REPORT.md")
    ap.add_argument("--quick", action="store_true", help="small sizes for CI (< 60 s on 2 cores)")
    ap.add_argument("--only", default=None, help="comma-separated figures, e.g. F3,F5 (default: all)")
    ap.add_argument("--jobs", type=int, default=1, help="sweep workers (joblib; -1 = all cores)")
    ap.add_argument("--out", default="figures", help="output folder (default: figures)")
    ap.add_argument("--seed", type=int, default=0, help="root seed >= 0 (SeedSequence entropy)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    return ap


def _parse_only(only):
    if only is None:
        return list(FIGURES)
    names = [x.strip().upper() for x in only.split(",") if x.strip()]
    bad = [x for x in names if x not in FIGURES]
    if bad or not names:
        raise ValueError(f"--only: unknown figure(s) {bad or only!r}; choose from {','.join(FIGURES)}")
    return [n for n in FIGURES if n in names]


def _transformer(settings, out, root, log) -> list:
    """T1/T2 from linparity.transformer.figures when torch and that module import, in full mode only.

    Full mode runs the transformer figures' ``mode="main"`` configuration (d = 16, depth 2,
    width 64; T1 at p_cot in {0.1, 0.2, 0.45, 0.6} in 2 processes, T2 = NTP at 0.2 then 8 STaR
    rounds; about 8-10 minutes together on 2 cores). Their rows (issue 6's claims) go into
    REPORT.md. ``--quick`` skips them: even the d = 6 smoke configuration needs about a minute
    per figure. Seeds: T1 uses child 8 and T2 child 9 of ``SeedSequence(S)``.
    """
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        log("T1/T2 skipped: torch is not installed (pip install 'linparity[transformer]')")
        return []
    try:
        from ..transformer import figures as tf
    except ImportError as exc:
        log(f"T1/T2 skipped: linparity.transformer.figures does not import ({exc})")
        return []
    if settings.name == "quick":
        log("T1/T2 skipped in --quick mode (transformer training does not fit the 60 s budget); "
            "they run in full mode")
        return []
    log(f"T1/T2: transformer figures, configuration mode='main' "
        f"(d = {tf.T1_SETTINGS['main']['d']}; several minutes)")
    res = []
    for k, name in ((SEED_KEYS["T1"], "T1"), (SEED_KEYS["T2"], "T2")):
        fn = getattr(tf, f"result_{name.lower()}")
        t0 = time.time()
        try:
            r = fn(out, mode="main", rng=np.random.SeedSequence(root.entropy, spawn_key=(k,)))
        except Exception as exc:  # report, never hide; the linear-model report is still written
            log(f"{name} failed: {exc.__class__.__name__}: {exc}")
            continue
        dt = time.time() - t0
        r.caption = f"{r.caption} Result: {r.summary} ({dt:.0f} s)"
        r.summary = f"{r.summary} ({dt:.0f} s)"
        ndev = sum(not row.passed for row in r.rows)
        log(f"{name} ({dt:.1f} s, {len(r.rows) - ndev} PASS / {ndev} DEVIATION): {r.summary}")
        res.append(r)
    return res


def run_figures(names, quick=False, out="figures", seed=0, jobs=1, progress=True, log=print) -> list:
    """Run the named figures and write REPORT.md; returns the FigureResults."""
    settings = QUICK if quick else FULL
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(seed)
    results, t_all = [], time.time()
    for name in names:
        k = SEED_KEYS[name]
        t0 = time.time()
        res = FIGURES[name](settings, np.random.SeedSequence(root.entropy, spawn_key=(k,)), out, jobs, progress)
        ndev = sum(not r.passed for r in res.rows)
        log(f"{name} ({time.time() - t0:.1f} s, {len(res.rows) - ndev} PASS / {ndev} DEVIATION): {res.summary}")
        results.append(res)
    if not names or len(names) == len(FIGURES):
        results += _transformer(settings, out, root, log)
    header = (f"# linparity verdict report\n\nGenerated by `python -m linparity.figures{' --quick' if quick else ''}"
              f" --seed {seed}` ({settings.name} mode, figures {', '.join(names)}, {time.time() - t_all:.0f} s). "
              "Each row: the claim (THEORY section), the prediction, the measured value with its uncertainty, and "
              "PASS or DEVIATION under the stated criterion.")
    write_report(out / "REPORT.md", results, header)
    return results


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        names = _parse_only(args.only)
        if args.seed < 0:
            raise ValueError(f"--seed: must be >= 0, got {args.seed}")
        if args.jobs == 0:
            raise ValueError("--jobs: must be >= 1, or negative for all cores")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_figures(names, args.quick, args.out, args.seed, args.jobs, not args.no_progress)
    return 0
