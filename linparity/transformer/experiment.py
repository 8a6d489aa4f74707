"""One transformer experiment from fresh weights or a checkpoint: what ``python -m linparity transformer`` runs.

:func:`prepare` checks every option (documented ranges of :mod:`.limits`, the checkpoint, the
checkpoint folder, the work estimate) before anything is trained; :func:`run_experiment` then builds
(or loads) the model, pre-trains or post-trains it with the functions of
:mod:`linparity.transformer.train`, optionally saves checkpoints, and returns a JSON-able dict.
Seeds: ``SeedSequence(seed)`` is split into (initialisation, pre-training, RL) children.

Checkpoint folders. Each command writes its own files into ``checkpoint_dir`` (``pretrain``:
``step_*.pt`` and ``final.pt``; an RL command: ``<command>_final.pt``) and a manifest
``<command>.run.json`` holding the options of the run (everything that changes the result). A
second run of the same command into the folder is allowed only with identical options (it rewrites
the same files); any other is refused, so two runs never mix. Temporary files of a save that was
killed (``.tmp-<file>.<hex>``) are removed when the next run of that command starts.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .._io import TMP_PREFIX, atomic_write_text
from .limits import DEFAULTS, RANGES, check_option, check_work

__all__ = ["COMMANDS", "DEFAULTS", "prepare", "run_experiment"]

COMMANDS = ("pretrain", "star", "grpo", "reinforce")

#: every option of :func:`run_experiment` and its default (None: per command, or the checkpoint's)
OPTIONS = dict(task=None, d=None, digits=None, depth=None, width=None, heads=None, p_cot=None, seed=0, device="cpu", threads=None,
               checkpoint=None, checkpoint_dir=None, checkpoint_every=None, eval_every=None, n_eval=1024,
               verbose=False, quiet=False, steps=None, batch_size=None, lr=None, warmup=100, weight_decay=0.0,
               pretrain_steps=None, pretrain_lr=None, reward="cot", temperature=1.0, rounds=12, samples=2048,
               epochs=2, group=8)
#: defaults of the pre-training of an RL command started without a checkpoint
_PRE = {"pretrain_steps": 800, "pretrain_lr": 1e-3}
#: options that do not change the result (left out of the manifest)
_COSMETIC = ("verbose", "quiet", "threads", "checkpoint_dir")
_ARCH = ("d", "depth", "width", "heads")
#: what a checkpoint fixes: the task, its size (d for parity, digits for multiplication), the architecture, p_cot
_FIXED = ("task", "d", "digits", "depth", "width", "heads", "p_cot")


def _fixed_by(config, meta) -> dict:
    """The values of :data:`_FIXED` a checkpoint holds (the size under d or digits, the other None)."""
    mult = config.task == "multiplication"
    return {**config.to_dict(), "d": None if mult else config.d, "digits": config.d if mult else None,
            "p_cot": meta.get("p_cot")}


def _show(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else repr(v)


def _files_of(command: str) -> re.Pattern:
    """The names of the files ``command`` writes in a checkpoint folder (besides its manifest)."""
    return re.compile(r"(step_\d+|final)\.pt" if command == "pretrain" else rf"{command}_final\.pt")


def _check_dir(folder, command, manifest, option) -> Path:
    """The checkpoint folder, created and writable, holding no files of another run of ``command``."""
    name = option("checkpoint_dir")
    if not str(folder).strip():
        raise ValueError(f"{name}: must be a folder path, got {str(folder)!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{name}: {str(folder)!r} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ValueError(f"{name}: cannot write in {str(folder)!r} ({e.strerror or e})") from None
    path = folder / f"{command}.run.json"
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"{name}: cannot read the manifest {str(path)!r} ({e}); "
                             "remove it with the run's checkpoints, or choose another folder") from None
        if not (isinstance(old, dict) and isinstance(old.get("options"), dict)):
            raise ValueError(f"{name}: the manifest {str(path)!r} is not one this package writes (an object "
                             "with 'options'); remove it with the run's checkpoints, or choose another folder")
        # manifests written before the task options existed are parity runs
        old = {**old, "options": {"task": "parity", "digits": None, **old["options"]}}
        if old != manifest:
            diff = [k for k in sorted(set(old.get("options", {})) | set(manifest["options"]))
                    if old.get("options", {}).get(k) != manifest["options"].get(k)]
            raise ValueError(f"{name}: {str(folder)!r} holds the checkpoints of another {command} run "
                             f"(different {', '.join(option(k) for k in diff) or 'manifest'}); "
                             "choose another folder, or remove that run's files")
    else:
        pat = _files_of(command)
        theirs = sorted(p.name for p in folder.iterdir() if pat.fullmatch(p.name))
        if theirs:
            raise ValueError(f"{name}: {str(folder)!r} holds checkpoints of an unknown {command} run "
                             f"({theirs[0]}, no {path.name}); choose another folder, or remove them")
    return folder


def _start_dir(folder: Path, command: str, manifest: dict) -> None:
    """Remove the temporary files of a killed save of ``command``, then write its manifest."""
    pat = _files_of(command)
    for p in folder.iterdir():
        # TMP_PREFIX + target name + "." + 32 hex digits (linparity._io.atomic_write)
        m = re.fullmatch(re.escape(TMP_PREFIX) + r"(.+)\.[0-9a-f]{32}", p.name)
        if m and (pat.fullmatch(m.group(1)) or m.group(1) == f"{command}.run.json"):
            p.unlink(missing_ok=True)
    atomic_write_text(folder / f"{command}.run.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def prepare(command, *, force: bool = False, option=lambda n: n, **given) -> dict:
    """Check every option of :func:`run_experiment` before any work; return them resolved.

    Order: the command and the documented ranges (:data:`linparity.transformer.limits.RANGES`),
    the device, the checkpoint (read and checked; an architecture option or ``p_cot`` given
    explicitly must equal the checkpoint's, the others take its values), constraints between
    options, the work estimate (refused above 80% of the memory or 1 hour unless ``force``), and
    the checkpoint folder (writable, no checkpoints of another run). ``option`` spells an option
    in the messages (the CLI: ``--p-cot``).

    Returns
    -------
    dict with every option of :data:`OPTIONS` resolved, plus ``model`` (the loaded checkpoint's
    model, or None), ``meta`` (its meta dict), ``manifest`` (what the checkpoint folder records)
    and ``estimate`` (bytes, seconds: :func:`linparity.transformer.limits.estimate_work`).
    """
    from .train import load_checkpoint, resolve_device

    if command not in COMMANDS:
        raise ValueError(f"command: must be one of {COMMANDS}, got {command!r}")
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise TypeError(f"run_experiment() got unexpected options {unknown}")
    given = {k: v for k, v in given.items() if v is not None}
    o = {**OPTIONS, **given}
    for k in RANGES:
        if o.get(k) is not None:
            o[k] = check_option(k, o[k], option)
    if command == "star" and "steps" in given:
        raise ValueError(f"{option('steps')}: star counts {option('rounds')}, not {option('steps')}")
    if o["task"] is not None and o["task"] not in DEFAULTS["tasks"]:
        raise ValueError(f"{option('task')}: must be one of {DEFAULTS['tasks']}, got {o['task']!r}")
    if o["reward"] not in ("cot", "e2e"):
        raise ValueError(f"{option('reward')}: must be 'cot' or 'e2e', got {o['reward']!r}")
    o["device"] = resolve_device(o["device"])
    for k, v in DEFAULTS[command].items():
        o[k] = v if o[k] is None else o[k]
    model, meta = None, {}
    if o["checkpoint"] is not None:
        if command == "pretrain":
            raise ValueError(f"{option('checkpoint')}: pretrain starts from fresh weights; "
                             "start an RL command from the checkpoint instead")
        for k in _PRE:
            if k in given:
                raise ValueError(f"{option(k)}: not used with {option('checkpoint')} (its model is pre-trained "
                                 f"already); leave {option(k)} out")
        model, meta = load_checkpoint(o["checkpoint"], "cpu")
        have = _fixed_by(model.config, meta)
        for k in _FIXED:
            if k in given and have[k] is not None and o[k] != have[k]:
                raise ValueError(f"{option(k)}: {_show(o[k])} conflicts with {option('checkpoint')} "
                                 f"{o['checkpoint']!r}, which holds {k} = {_show(have[k])}; leave {option(k)} out "
                                 "to use the checkpoint's value")
            o[k] = have[k] if have[k] is not None else o[k]
        if o["p_cot"] is None:
            o["p_cot"] = DEFAULTS["arch"]["p_cot"]
    else:
        for k, v in _PRE.items():
            o[k] = v if o[k] is None else o[k]
    o["task"] = o["task"] or DEFAULTS["arch"]["task"]
    size, other = ("digits", "d") if o["task"] == "multiplication" else ("d", "digits")
    if o[other] is not None:
        raise ValueError(f"{option(other)}: not an option of the {o['task']} task (its size is {option(size)}); "
                         f"leave {option(other)} out")
    for k in ("depth", "width", "heads", "p_cot", size):
        o[k] = DEFAULTS["arch"][k] if o[k] is None else o[k]
    if o["width"] % o["heads"]:
        raise ValueError(f"{option('width')}: must be a multiple of {option('heads')} = {o['heads']}, "
                         f"got {o['width']}")
    estimate = check_work(command, force=force, option=option,
                          **{k: v for k, v in o.items() if k in RANGES or k in ("checkpoint", "task")})
    o["manifest"] = {"command": command, "options": {k: v for k, v in o.items()
                                                     if k in OPTIONS and k not in _COSMETIC}}
    if o["checkpoint_dir"] is not None:
        _check_dir(o["checkpoint_dir"], command, o["manifest"], option)
    o["model"], o["meta"], o["estimate"] = model, meta, estimate
    return o


def run_experiment(command, *, force: bool = False, **options) -> dict:
    """Run ``command`` (pretrain | star | grpo | reinforce) and return its log.

    Options (:data:`OPTIONS`; ranges in :data:`linparity.transformer.limits.RANGES`): the
    ``task`` ('parity', the default, or 'multiplication', :mod:`.tasks`), its size ``d`` (parity,
    default 16) or ``digits`` (multiplication, default 3; the other is refused), the
    architecture ``depth``, ``width``, ``heads`` (default 2, 64, 4) and ``p_cot``
    (default 0.2), ``seed``, ``device``, ``threads``, ``checkpoint``, ``checkpoint_dir``,
    ``checkpoint_every``, ``eval_every``, ``n_eval``, ``verbose``, ``quiet``, ``steps``,
    ``batch_size``, ``lr`` (defaults per command: :data:`DEFAULTS`), ``warmup``,
    ``weight_decay`` (pretrain), ``pretrain_steps``, ``pretrain_lr`` (default 800, 1e-3),
    ``reward``, ``temperature`` (RL), ``rounds``, ``samples``, ``epochs`` (star), ``group`` (grpo).
    Everything is checked first (:func:`prepare`; ``force`` skips the work estimate's refusal).

    ``pretrain`` trains a fresh model on D(p_cot). The RL commands start from ``checkpoint`` (its
    architecture and p_cot; an explicit, different one is refused) or, without one, pre-train a
    fresh model for ``pretrain_steps`` first. ``star`` counts ``rounds``. Progress goes to stderr
    unless ``quiet`` (the pretrain default, 800 steps at d = 16, takes about 2 minutes on 2 cores).

    Returns
    -------
    dict with ``command``, ``task``, its size ``d`` (parity) or ``digits`` (multiplication), ``p_cot``,
    ``config`` (architecture), ``seed``, ``device``, the
    per-evaluation arrays ``eval_steps``, ``greedy_accuracy``, ``greedy_length``, ``pi_long``,
    ``mean_length``, ``long_fraction`` (``pi_long`` None for multiplication), the per-step ``loss`` (and for RL ``kept_fraction``,
    ``train_mean_length``), ``final`` (the last held-out metrics) and, for RL started without a
    checkpoint, ``pretrain`` (the pre-training log). For ``star``, ``loss`` and
    ``kept_long_fraction`` are None (JSON null) for a round that kept nothing.
    """
    from . import require_torch
    require_torch()
    import torch

    from .model import TransformerConfig, build_model
    from .train import grpo, pretrain, reinforce, save_checkpoint, star

    o = prepare(command, force=force, **options)
    if o["threads"] is not None:
        torch.set_num_threads(o["threads"])
    folder = o["checkpoint_dir"]
    if folder is not None:
        _start_dir(Path(folder), command, o["manifest"])
    s_init, s_pre, s_rl = np.random.SeedSequence(o["seed"]).spawn(3)
    common = dict(eval_every=o["eval_every"], n_eval=o["n_eval"], verbose=bool(o["verbose"]),
                  progress=not o["quiet"])
    out: dict = {"command": command, "seed": o["seed"], "device": o["device"]}
    p_cot = o["p_cot"]

    def fresh():
        size = o["digits"] if o["task"] == "multiplication" else o["d"]
        cfg = TransformerConfig(**{k: o[k] for k in _ARCH[1:]}, d=size, task=o["task"])
        return build_model(cfg, rng=s_init, device=o["device"])

    if command == "pretrain":
        model = fresh()
        log = pretrain(model, p_cot, steps=o["steps"], batch_size=o["batch_size"], lr=o["lr"],
                       warmup=o["warmup"], weight_decay=o["weight_decay"], checkpoint_dir=folder,
                       checkpoint_every=o["checkpoint_every"], rng=s_pre, **common)
    else:
        if o["model"] is not None:
            model = o["model"].to(o["device"])
            out["start_checkpoint"] = {"path": o["checkpoint"], **o["meta"]}
        else:
            model = fresh()
            try:
                out["pretrain"] = pretrain(model, p_cot, steps=o["pretrain_steps"], lr=o["pretrain_lr"],
                                           rng=s_pre, **common)
            except ValueError as e:  # a diverged pre-training: its learning rate is --pretrain-lr
                raise ValueError(re.sub(r"^lr:", "pretrain_lr:", str(e))) from None
        rl = dict(reward=o["reward"], lr=o["lr"], temperature=o["temperature"], batch_size=o["batch_size"],
                  rng=s_rl, n_eval=o["n_eval"], verbose=bool(o["verbose"]), progress=not o["quiet"])
        if command == "star":
            log = star(model, rounds=o["rounds"], samples=o["samples"], epochs=o["epochs"], **rl)
        elif command == "reinforce":
            log = reinforce(model, steps=o["steps"], eval_every=o["eval_every"], **rl)
        else:
            log = grpo(model, steps=o["steps"], group=o["group"], eval_every=o["eval_every"], **rl)
        if folder is not None:
            log["checkpoint"] = save_checkpoint(os.path.join(folder, f"{command}_final.pt"), model,
                                                p_cot=p_cot, stage=command)
    size = "digits" if o["task"] == "multiplication" else "d"
    out.update({"task": o["task"], size: o[size], "p_cot": p_cot, "config": model.config.to_dict()})
    out.update(log)
    out["final"] = {k: log[k][-1] for k in ("greedy_accuracy", "greedy_length", "pi_long",
                                            "mean_length", "long_fraction")}
    return out
