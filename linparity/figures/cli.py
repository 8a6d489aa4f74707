"""Command line of ``python -m linparity.figures``.

Flags: ``--quick`` (small sizes, for CI), ``--only F3,F5``, ``--jobs N`` (sweep workers),
``--out DIR`` (default ``figures`` for the full mode, ``figures/quick`` for ``--quick``, so a quick
run never overwrites the committed full-mode gallery), ``--seed S``, ``--no-progress``. Bad flags
and an output folder that cannot be written print one line on stderr and exit with status 2,
before anything is computed. The run ends with one summary line: claims, PASS, DEVIATION,
SKIPPED and the report's path.

Seeds: figure Fk (k = 1..8) uses child k-1 of ``SeedSequence(S)``
(``SeedSequence(S, spawn_key=(k-1,))``), T1/T2 children 8/9, F9-F11 children 10-12
(:data:`SEED_KEYS`), so ``--only`` and ``--jobs`` never change a figure's numbers.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import extensions, policy, pretraining, scaling, star
from .report import skipped, verdict_counts, write_report
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
    ap.add_argument("--quick", action="store_true", help="small sizes for CI (default --out figures/quick)")
    ap.add_argument("--only", default=None, help="comma-separated figures, e.g. F3,F5 (default: all)")
    ap.add_argument("--jobs", type=int, default=1, help="sweep workers (joblib; -1 = all cores)")
    ap.add_argument("--out", default=None, help="output folder (default: figures, or figures/quick with --quick)")
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


#: what T1/T2 check (issue 6), for their SKIPPED rows when they do not run
_T_CLAIMS = {"T1": "transformer threshold after NTP (d = 16): chance below p = 1/3, correct above, "
                   "length-calibrated (issue 6)",
             "T2": "transformer STaR from p = 0.2 (d = 16) follows the ideal recursion and generalises (issue 6)"}


def _skip_transformer(out, reason, log) -> list:
    """SKIPPED rows for T1 and T2, and no stale T1/T2 image left beside the report."""
    stale = [p for n in ("T1", "T2") for p in Path(out).glob(f"{n}.*") if p.suffix in (".png", ".pdf")]
    for p in stale:
        p.unlink()
    note = f"; removed the stale {', '.join(p.name for p in stale)}" if stale else ""
    log(f"T1/T2 skipped: {reason}{note}")
    return [skipped(n, [_T_CLAIMS[n]], reason) for n in ("T1", "T2")]


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
        return _skip_transformer(out, "torch is not installed (pip install 'linparity[transformer]')", log)
    try:
        from ..transformer import figures as tf
    except ImportError as exc:
        return _skip_transformer(out, f"linparity.transformer.figures does not import ({exc})", log)
    if settings.name == "quick":
        return _skip_transformer(out, "--quick mode (transformer training takes minutes); they run in full mode",
                                 log)
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
            res.append(skipped(name, [_T_CLAIMS[name]], f"failed: {exc.__class__.__name__}: {exc}"))
            continue
        dt = time.time() - t0
        r.caption = f"{r.caption} Result: {r.summary} ({dt:.0f} s)"
        r.summary = f"{r.summary} ({dt:.0f} s)"
        ndev = sum(not row.passed for row in r.rows)
        log(f"{name} ({dt:.1f} s, {len(r.rows) - ndev} PASS / {ndev} DEVIATION): {r.summary}")
        res.append(r)
    return res


def default_out(quick: bool) -> Path:
    """``figures`` (the committed full-mode gallery) or ``figures/quick`` (git-ignored)."""
    return Path("figures") / "quick" if quick else Path("figures")


def check_out(out) -> Path:
    """Create ``out`` if needed and check that files can be written in it; ValueError naming --out.

    Done before any figure is computed, so a read-only folder or an existing file fails at once.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ValueError(f"--out: cannot write in {out} ({e.strerror or e})") from None
    return out


def run_figures(names, quick=False, out=None, seed=0, jobs=1, progress=True, log=print) -> list:
    """Run the named figures and write REPORT.md; returns the FigureResults.

    ``out`` None: :func:`default_out` (``figures/quick`` in quick mode). Ends with one summary line
    (claims, PASS, DEVIATION, SKIPPED, the report's path) through ``log``.
    """
    settings = QUICK if quick else FULL
    out = check_out(default_out(quick) if out is None else out)
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
    path = write_report(out / "REPORT.md", results, header)
    c = verdict_counts(results)
    log(f"{c['claims']} claims: {c['PASS']} PASS, {c['DEVIATION']} DEVIATION, {c['SKIPPED']} SKIPPED "
        f"({time.time() - t_all:.0f} s); report: {path}")
    return results


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        names = _parse_only(args.only)
        if args.seed < 0:
            raise ValueError(f"--seed: must be >= 0, got {args.seed}")
        if args.jobs == 0:
            raise ValueError("--jobs: must be >= 1, or negative for all cores")
        out = check_out(default_out(args.quick) if args.out is None else args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_figures(names, args.quick, out, args.seed, args.jobs, not args.no_progress)
    return 0
