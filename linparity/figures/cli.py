"""Command line of ``python -m linparity.figures``.

Flags: ``--quick`` (small sizes, for CI), ``--only F3,F5,T3``, ``--jobs N`` (sweep workers),
``--out DIR`` (default ``figures`` for the full mode, ``figures/quick`` for ``--quick``, so a quick
run never overwrites the committed full-mode gallery), ``--seed S``, ``--no-progress``, ``--scale
{main,large}`` (transformer figures; ``large`` exists for T3). Bad flags and an output folder that
cannot be written print one line on stderr and exit with status 2, before anything is computed.
A requested figure that does not run (T1-T6 without torch or in quick mode) keeps a SKIPPED row
with the reason in REPORT.md, and its stale images are removed. The run ends with one summary
line: claims, PASS, DEVIATION, SKIPPED and the report's path.

Seeds: figure Fk (k = 1..8) uses child k-1 of ``SeedSequence(S)``
(``SeedSequence(S, spawn_key=(k-1,))``), F9-F11 children 10-12 (:data:`SEED_KEYS`), the
transformer figures the fixed keys of ``linparity.figures.transformer.SEED_KEYS`` (T1: 8, T2: 9,
T3..T6: 103..106), so ``--only`` and ``--jobs`` never change a figure's numbers.
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

__all__ = ["FIGURES", "TRANSFORMER_FIGURES", "main", "run_figures", "build_parser"]

#: figure name -> function(settings, SeedSequence, out, jobs, progress) -> FigureResult
FIGURES = {"F1": pretraining.f1, "F2": pretraining.f2, "F3": star.f3, "F4": star.f4,
           "F5": scaling.f5, "F6": pretraining.f6, "F7": policy.f7, "F8": star.f8,
           "F9": extensions.f9, "F10": extensions.f10, "F11": extensions.f11}

#: SeedSequence child of each figure: F1-F8 use k-1, the transformer's T1/T2 8 and 9, so F9-F11
#: take 10-12 (adding figures never changes an existing figure's numbers)
SEED_KEYS = {**{f"F{k}": k - 1 for k in range(1, 9)}, "F9": 10, "F10": 11, "F11": 12}
#: transformer figures (linparity.figures.transformer, needs torch), run by :func:`_transformer`
TRANSFORMER_FIGURES = ("T1", "T2", "T3", "T4", "T5", "T6")


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
    ap.add_argument("--scale", default="main", choices=["main", "large"],
                    help="transformer figures: 'large' runs T3 at the paper's d = 25 (21 runs; about 3.7 h on 2 cores)")
    return ap


def _parse_only(only):
    if only is None:
        return list(FIGURES) + list(TRANSFORMER_FIGURES)
    known = list(FIGURES) + list(TRANSFORMER_FIGURES)
    names = [x.strip().upper() for x in only.split(",") if x.strip()]
    bad = [x for x in names if x not in known]
    if bad or not names:
        raise ValueError(f"--only: unknown figure(s) {bad or only!r}; choose from {','.join(known)}")
    return [n for n in known if n in names]


def _skip(names, out, reason, log) -> list:
    """SKIPPED rows for the transformer figures ``names``, and no stale image of them beside the report."""
    stale = [p for n in names for p in Path(out).glob(f"{n}.*") if p.suffix in (".png", ".pdf")]
    for p in stale:
        p.unlink()
    note = f"; removed the stale {', '.join(p.name for p in stale)}" if stale else ""
    log(f"{','.join(names)} skipped: {reason}{note}")
    return [skipped(n, [f"transformer figure {n} (docs/findings_transformer.md)"], reason) for n in names]


def _transformer(names, settings, out, root, log, jobs=2, progress=False, scale="main") -> list:
    """The transformer figures ``names`` (T1..T6, linparity.figures.transformer) when torch is
    installed, in full mode only.

    Full mode runs each figure's ``FULL_MODE`` configuration: T1/T2 at d = 16 (issue 6's
    ``mode="main"``), T3-T6 at d = 12 (depth 2, width 64, 600 NTP steps x 128); all six take about
    10 minutes on 2 cores (docs/findings_transformer.md). ``scale="large"`` runs T3 at d = 25.
    Runs are cached under ``out/sweeps/T<k>-<mode>`` (the sweep engine), so a rerun reuses them.
    ``--quick`` skips them. Seeds: ``SEED_KEYS`` children of ``SeedSequence(S)``. A figure that
    raises is logged and skipped, so the linear-model report is still written.
    """
    import importlib.util
    if not names:
        return []
    if importlib.util.find_spec("torch") is None:
        return _skip(names, out, "torch is not installed (pip install 'linparity[transformer]')", log)
    try:
        from . import transformer as tf
    except ImportError as exc:
        return _skip(names, out, f"linparity.figures.transformer does not import ({exc})", log)
    if settings.name == "quick":
        return _skip(names, out, "--quick mode (transformer training takes minutes); they run in full mode", log)
    res = []
    for name in names:
        mode = "large" if (scale == "large" and name == "T3") else tf.FULL_MODE[name]
        t0 = time.time()
        try:
            r = tf.TFIGURES[name](out, mode, np.random.SeedSequence(root.entropy, spawn_key=(tf.SEED_KEYS[name],)),
                                  jobs=max(jobs, 2), progress=progress)
        except Exception as exc:  # report, never hide; the linear-model report is still written
            res += _skip([name], out, f"failed: {exc.__class__.__name__}: {exc}", log)
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


def run_figures(names, quick=False, out=None, seed=0, jobs=1, progress=True, log=print,
                scale="main") -> list:
    """Run the named figures (F1..F8, then T1..T6) and write REPORT.md; returns the FigureResults.

    ``out`` None: :func:`default_out` (``figures/quick`` in quick mode). Ends with one summary line
    (claims, PASS, DEVIATION, SKIPPED, the report's path) through ``log``.
    """
    settings = QUICK if quick else FULL
    out = check_out(default_out(quick) if out is None else out)
    root = np.random.SeedSequence(seed)
    results, t_all = [], time.time()
    for name in [n for n in names if n in FIGURES]:
        k = SEED_KEYS[name]
        t0 = time.time()
        res = FIGURES[name](settings, np.random.SeedSequence(root.entropy, spawn_key=(k,)), out, jobs, progress)
        ndev = sum(not r.passed for r in res.rows)
        log(f"{name} ({time.time() - t0:.1f} s, {len(res.rows) - ndev} PASS / {ndev} DEVIATION): {res.summary}")
        results.append(res)
    results += _transformer([n for n in names if n in TRANSFORMER_FIGURES], settings, out, root, log,
                            jobs, progress, scale)
    header = (f"# linparity verdict report\n\nGenerated by `python -m linparity.figures{' --quick' if quick else ''}"
              f" --seed {seed}` ({settings.name} mode, figures {', '.join(names)}, {time.time() - t_all:.0f} s). "
              "Each row: the claim (THEORY section), the prediction, the measured value with its uncertainty, and "
              "PASS or DEVIATION under the stated criterion, or SKIPPED (not run this time) with the reason.")
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
    run_figures(names, args.quick, out, args.seed, args.jobs, not args.no_progress, scale=args.scale)
    return 0
