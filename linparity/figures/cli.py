"""Command line of ``python -m linparity.figures``.

Flags: ``--quick`` (small sizes, for CI), ``--only F3,F5,T3``, ``--jobs N`` (sweep workers; default
the machine's cores), ``--out DIR`` (default ``figures`` for the full mode, ``figures/quick`` for
``--quick``, so a quick run never touches the committed full-mode gallery), ``--seed S``,
``--no-progress``, ``--scale {main,large,paper,tiny}``, ``--seeds`` and ``--device`` (transformer figures:
:data:`SCALES`).
Bad flags
and an output folder that cannot take the report print one line on stderr and exit with status 2,
before anything is computed; Ctrl-C prints one line and exits with 130.

In full mode the run also records the table of ``python -m proofs`` (seconds) and, when ``--out`` is a
repository's ``figures`` folder, rewrites the generated blocks of its ``README.md`` and ``docs/*.md`` from the
new record (:mod:`linparity.figures.findings`); ``--quick`` keeps the recorded proofs and touches no
document.

The report merges (``report.py``): a run replaces the rows of the figures it recomputes and carries
over, marked, the recorded rows of every other figure; no run deletes an image or drops a row it
did not recompute. A requested figure that cannot run (T1-T7 without torch or in quick mode) keeps
its recorded rows, or gets SKIPPED rows with the reason when it has none. The run ends with one
summary line: claims, PASS, DEVIATION, SKIPPED, rows carried over and the report's path.

Seeds: figure Fk (k = 1..8) uses child k-1 of ``SeedSequence(S)``
(``SeedSequence(S, spawn_key=(k-1,))``), F9-F13 children 10-14 (:data:`SEED_KEYS`), the
transformer figures the fixed keys of ``linparity.figures.transformer.SEED_KEYS`` (T1: 8, T2: 9,
T3..T6: 103..106, T7: 15), so ``--only`` and ``--jobs`` never change a figure's numbers.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .._validate import usage_message
from ..experiments.samples_runs import runs_dir
from . import extensions, findings, iteration, policy, pretraining, scaling, star, totals
from .report import (REPORT_JSON, REPORT_MD, load_proofs, load_recorded, merge, run_proofs, run_text, skipped,
                     verdict_counts, write_report)
from .settings import FULL, QUICK

__all__ = ["FIGURES", "TRANSFORMER_FIGURES", "main", "run_figures", "build_parser"]

#: figure name -> function(settings, SeedSequence, out, jobs, progress) -> FigureResult
FIGURES = {"F1": pretraining.f1, "F2": pretraining.f2, "F3": star.f3, "F4": star.f4,
           "F5": scaling.f5, "F6": pretraining.f6, "F7": policy.f7, "F8": star.f8,
           "F9": extensions.f9, "F10": extensions.f10, "F11": extensions.f11, "F12": iteration.f12,
           "F13": totals.f13}

#: SeedSequence child of each figure: F1-F8 use k-1, the transformer's T1/T2 8 and 9, so F9-F13
#: take 10-14 (T7: 15; adding figures never changes an existing figure's numbers)
SEED_KEYS = {**{f"F{k}": k - 1 for k in range(1, 9)}, "F9": 10, "F10": 11, "F11": 12, "F12": 13, "F13": 14}
#: transformer figures (linparity.figures.transformer, needs torch), run by :func:`_transformer`
TRANSFORMER_FIGURES = ("T1", "T2", "T3", "T4", "T5", "T6", "T7")
#: --scale -> the mode of each transformer figure that has one at that scale (the others run FULL_MODE):
#: large: T3 at d = 25 and T7 at n = 3 (CPU hours); paper: the paper's sizes for a GPU (T1/T2 d = 50,
#: T3 d = 25, T7 n = 5; benchmarks/gpu_paper.sh); tiny: every figure at toy sizes (the GPU script's CPU dry run)
SCALES = {"main": {}, "large": {"T3": "large", "T7": "large"},
          "paper": {"T1": "paper", "T2": "paper", "T3": "paper", "T7": "paper"},
          "tiny": {n: "tiny" for n in TRANSFORMER_FIGURES}}
#: default --jobs: the cores of this machine (the figures' numbers never depend on it)
CORES = os.cpu_count() or 1


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(usage_message(self.prog, message))


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m linparity.figures", description="theorem figures F1-F13, T1-T7 and REPORT.md",
                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes for CI (--out defaults to figures/quick)")
    ap.add_argument("--only", default=None, help="comma-separated figures, e.g. F3,F5 (None: all); the report "
                    "keeps every other figure's recorded rows, marked as carried over")
    ap.add_argument("--jobs", type=int, default=CORES,
                    help="worker processes for the sweeps (default: the cores of this machine; -1 = all cores); "
                         "the numbers never depend on it")
    ap.add_argument("--out", default=None, help="output folder (None: figures, or figures/quick with --quick)")
    ap.add_argument("--seed", type=int, default=0, help="root seed >= 0 (SeedSequence entropy)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    ap.add_argument("--scale", default="main", choices=list(SCALES),
                    help="transformer figures: 'large' runs T3 at the paper's d = 25 (21 runs; about 3.7 h on 2 cores) "
                         "and T7 at n = 3 digits; 'paper' the paper's sizes (T1/T2 d = 50, T3 d = 25, T7 n = 5) for a "
                         "GPU; 'tiny' toy sizes (a dry run)")
    ap.add_argument("--seeds", type=int, default=None,
                    help="replicates of T3-T7 (default each mode's, 1 in full mode); S seeds cost S times one "
                         "seed's time (full mode, idle 2-core machine: T3 about 2 min, T4 2 min, T5 1 min, T6 2 min, "
                         "T7 about 6 min per seed) and seed r's runs do not depend on S")
    ap.add_argument("--device", default=None,
                    help="torch device of the transformer figures: cpu, cuda, cuda:k or auto (default: cpu, "
                         "cuda for --scale paper)")
    return ap


def _parse_only(only):
    known = list(FIGURES) + list(TRANSFORMER_FIGURES)
    if only is None:
        return known
    names = [x.strip().upper() for x in only.split(",") if x.strip()]
    bad = [x for x in names if x not in known]
    if bad or not names:
        raise ValueError(f"--only: unknown figure(s) {bad or only!r}; choose from {','.join(known)}")
    return [n for n in known if n in names]


def _skip(names, reason, log) -> list:
    """SKIPPED rows for the transformer figures ``names`` (their images and recorded rows stay)."""
    log(f"{','.join(names)} not run: {reason}")
    return [skipped(n, [f"transformer figure {n} (THEORY §7)"], reason) for n in names]


def _transformer(names, settings, out, root, log, jobs=2, progress=False, scale="main", done=lambda res: None,
                 device=None, seeds=None):
    """The transformer figures ``names`` (T1..T7, linparity.figures.transformer) when torch is
    installed, in full mode only; ``done(result)`` is called after each figure.

    Full mode runs each figure's ``FULL_MODE`` configuration: T1/T2 at d = 16, T3-T6 at d = 12
    (depth 2, width 64, 600 NTP steps x 128); ``scale`` picks other modes (:data:`SCALES`) and ``device``
    replaces each mode's torch device, ``seeds`` the replicate count of T3-T7. Runs are cached
    under ``out/sweeps/T<k>-<mode>`` (the sweep engine), so a rerun reuses them. ``--quick`` skips
    them. Seeds: ``SEED_KEYS`` children of ``SeedSequence(S)``. A figure that raises is logged and
    skipped, so the linear-model report is still written.
    """
    import importlib.util
    if not names:
        return
    if importlib.util.find_spec("torch") is None:
        reason = "torch is not installed (pip install -e '.[transformer]')"
    elif settings.name == "quick":
        reason = "--quick mode (transformer training takes minutes); they run in full mode"
    else:
        reason = None
    try:
        from . import transformer as tf
    except ImportError as exc:
        reason = reason or f"linparity.figures.transformer does not import ({exc})"
    if reason:
        for r in _skip(names, reason, log):
            done(r)
        return
    for name in names:
        mode = SCALES[scale].get(name, tf.FULL_MODE[name])
        t0 = time.time()
        try:
            r = tf.TFIGURES[name](out, mode, np.random.SeedSequence(root.entropy, spawn_key=(tf.SEED_KEYS[name],)),
                                  jobs=jobs, progress=progress, device=device, seeds=seeds)
        except Exception as exc:  # report, never hide; the linear-model report is still written
            done(_skip([name], f"failed: {exc.__class__.__name__}: {exc}", log)[0])
            continue
        dt = time.time() - t0
        r.caption = f"{r.caption} Result: {r.summary} ({dt:.0f} s)"
        r.summary = f"{r.summary} ({dt:.0f} s)"
        done(r, dt)


def _check_device(device: str) -> str:
    """``device`` as torch will use it (ValueError naming --device: unknown, no GPU, no torch)."""
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        raise ValueError("--device: the transformer figures need torch (pip install -e '.[transformer]')")
    from ..experiments.transformer import resolve_device
    try:
        return resolve_device(device)
    except ValueError as e:
        raise ValueError(f"--{e}") from None


def default_out(quick: bool) -> Path:
    """``figures`` (the committed full-mode gallery) or ``figures/quick`` (git-ignored)."""
    return Path("figures") / "quick" if quick else Path("figures")


def check_out(out, mode: str = "full", names=None) -> Path:
    """Create ``out`` if needed and check that the run can write its report there; ValueError naming --out.

    Done before any figure is computed: a read-only folder, an existing file, a ``sweeps`` entry
    that is not a folder, an unreadable ``report.json``, a record of the other mode (its rows would
    be mixed with this run's), or a ``REPORT.md`` without its record when the run does not redo every
    figure (the rows it does not redo would be lost) all fail at once.
    """
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise ValueError(f"--out: {out} is a symbolic link to {os.readlink(out)}, which does not exist")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} exists and is not a folder")
    if (out / "sweeps").exists() and not (out / "sweeps").is_dir():
        raise ValueError(f"--out: {out / 'sweeps'} (where the figures cache their runs) exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
        modes = {f.run.get("mode") for f in load_recorded(out).values()}
    except OSError as e:
        raise ValueError(f"--out: cannot write in {out} ({e.strerror or e})") from None
    except ValueError as e:
        raise ValueError(f"--{e}") from None
    if modes - {mode}:
        raise ValueError(f"--out: {out} records {'/'.join(sorted(map(str, modes)))}-mode results; a {mode}-mode run "
                         f"would mix them (use another --out; --quick writes to {default_out(True)} by default)")
    every = names is None or set(names) >= set(FIGURES) | set(TRANSFORMER_FIGURES)
    if (out / REPORT_MD).exists() and not (out / REPORT_JSON).exists() and not every:
        raise ValueError(f"--out: {out / REPORT_MD} has no record {REPORT_JSON} beside it, so the rows of the "
                         "figures this run does not redo could not be kept; run every figure, or use another --out")
    return out


def _header(quick, seed, results) -> str:
    """The report's header: the command, what this run recomputed and what it carried over."""
    fresh = [r for r in results if not r.carried and r.run]
    carried: dict = {}
    for r in results:
        if r.carried:
            carried.setdefault(run_text(r.run), []).append(r.name)
    secs = sum(r.run.get("seconds") or 0 for r in fresh)
    parts = [f"Recomputed in this run: {', '.join(r.name for r in fresh)} ({secs:.0f} s of figure time)."
             if fresh else "Nothing recomputed in this run."]
    if carried:
        parts.append("Carried over, not recomputed (each such row says so): " + "; ".join(
            f"{', '.join(names)} ({run})" for run, names in carried.items()) + ".")
    return (f"# linparity verdict report\n\nGenerated by `python -m linparity.figures{' --quick' if quick else ''} "
            f"--seed {seed}`. {' '.join(parts)} Each row: the claim (THEORY section), the prediction, the measured "
            "value with its uncertainty, one verdict (PASS or DEVIATION under the criterion in the notes, or SKIPPED: "
            "not run, and no recorded run) and notes. Sections follow the theorems; the paper's claims, the "
            "toolkit's own hypotheses and the extensions are apart.")


def run_figures(names, quick=False, out=None, seed=0, jobs=CORES, progress=True, log=print,
                scale="main", device=None, seeds=None) -> list:
    """Run the named figures (F1..F13, then T1..T7) and write REPORT.md; returns the report's FigureResults.

    ``out`` None: :func:`default_out` (``figures/quick`` in quick mode). The report merges: this
    run's figures replace their rows, every other recorded figure is carried over (marked), so a
    partial run never drops a result (``report.py``). The report is rewritten after each figure,
    so an interrupted run keeps what it finished. In full mode the proofs table is recomputed and
    recorded, and the generated blocks of the README beside ``out`` are rewritten
    (:func:`linparity.figures.findings.rewrite_docs`). Ends with one summary line (claims, PASS,
    DEVIATION, SKIPPED, carried over, the report's path) through ``log``.
    """
    settings = QUICK if quick else FULL
    out = check_out(default_out(quick) if out is None else out, settings.name, names)
    recorded, fresh, order = load_recorded(out), [], list(FIGURES) + list(TRANSFORMER_FIGURES)
    proofs = load_proofs(out)
    root = np.random.SeedSequence(seed)
    t_all = time.time()

    def done(res, seconds=None):
        if seconds is not None:
            res.run = {"date": datetime.date.today().isoformat(), "mode": settings.name, "seed": seed,
                       "seconds": round(seconds, 1)}
        fresh.append(res)
        merged = merge(recorded, fresh, order)
        write_report(out, merged, _header(quick, seed, merged), proofs)   # saved before it is announced
        if seconds is not None:
            ndev = sum(not r.passed for r in res.rows)
            log(f"{res.name} ({seconds:.1f} s, {len(res.rows) - ndev} PASS / {ndev} DEVIATION): {res.summary}")

    for name in [n for n in names if n in FIGURES]:
        t0 = time.time()
        res = FIGURES[name](settings, np.random.SeedSequence(root.entropy, spawn_key=(SEED_KEYS[name],)), out, jobs,
                            progress)
        done(res, time.time() - t0)
    _transformer([n for n in names if n in TRANSFORMER_FIGURES], settings, out, root, log, jobs, progress, scale, done,
                 device, seeds)
    if not quick:   # the sympy table (seconds), recorded with the figures; quick mode keeps what is recorded
        t0 = time.time()
        proofs = run_proofs({"date": datetime.date.today().isoformat(), "mode": settings.name, "seed": seed})
        proofs["run"]["seconds"] = round(time.time() - t0, 1)
    results = merge(recorded, fresh, order)
    path = write_report(out, results, _header(quick, seed, results), proofs)
    readme = [] if quick else findings.rewrite_docs(out)   # the README's blocks, when out is a repository's figures/
    if readme:
        log(f"generated blocks rewritten from the report: {', '.join(map(str, readme))}")
    c = verdict_counts(results)
    n_carried = sum(len(r.rows) for r in results if r.carried)
    log(f"{c['claims']} claims: {c['PASS']} PASS, {c['DEVIATION']} DEVIATION, {c['SKIPPED']} SKIPPED; "
        f"{n_carried} carried over from recorded runs ({time.time() - t_all:.0f} s); report: {path}")
    return results


def main(argv=None) -> int:
    """Run the CLI; 0 done, 2 bad input (one line, before any work), 130 interrupted, 1 internal error."""
    try:
        args = build_parser().parse_args(argv)
        names = _parse_only(args.only)
        if args.seed < 0:
            raise ValueError(f"--seed: must be >= 0, got {args.seed}")
        if not (1 <= args.jobs <= CORES or args.jobs == -1):
            raise ValueError(f"--jobs: must be in [1, {CORES}] (the cores of this machine), or -1, got {args.jobs}")
        out = check_out(default_out(args.quick) if args.out is None else args.out,
                        "quick" if args.quick else "full", names)
        if "F5" in names or "F13" in names:   # F5 draws the shipped runs: a missing runs folder is refused before any work
            runs_dir()
        if args.seeds is not None and args.seeds < 1:
            raise ValueError(f"--seeds: must be >= 1, got {args.seeds}")
        if args.device is not None:
            args.device = _check_device(args.device)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        jobs = CORES if args.jobs == -1 else args.jobs
        run_figures(names, args.quick, out, args.seed, jobs, not args.no_progress, scale=args.scale,
                    device=args.device, seeds=args.seeds)
    except KeyboardInterrupt:
        print(f"error: interrupted; the figures finished before it are in {out / REPORT_MD}", file=sys.stderr)
        return 130
    except Exception as e:  # an internal error: one line, and the way to see more
        if os.environ.get("LINPARITY_TRACEBACK"):
            raise
        msg = str(e).splitlines()[0] if str(e).strip() else ""
        print(f"error: internal error {type(e).__name__}: {msg} (the figures finished before it are in "
              f"{out / REPORT_MD}; set LINPARITY_TRACEBACK=1 for the traceback)", file=sys.stderr)
        return 1
    return 0
