"""Pre-training by next-token prediction, then STaR, REINFORCE with a baseline and GRPO.

Every routine trains a :class:`~linparity.transformer.model.CausalTransformer` in place and
returns a JSON-able dict of per-step logs with the metric names of the linear commands:

* ``greedy_accuracy``: fraction of held-out fresh inputs whose greedy response ends with the
  right answer (the task's ``e2e`` reward of the greedy response: P(final answer correct), THEORY §4);
* ``pi_long``: the model's exact probability of a long response at temperature 1, averaged over
  the held-out inputs; parity: sum over y_1 in {+1,-1} of pi(y_1|x) (1 - pi(EOS|x,y_1));
  multiplication: None (JSON null; the decision falls after 2n digits, no exact sum is cheap:
  ``long_fraction`` estimates it from one sample per input);
* ``mean_length``: mean length (EOS included, ``response_length``) of one response sampled at
  temperature 1 per held-out input;
* ``loss``: the training loss of each step (NTP: mean response negative log-likelihood in nats;
  policy gradient: the surrogate -mean(A log pi));
* ``kept_fraction`` (RL only): fraction of the sampled responses with reward 1.

The held-out metrics are logged at ``eval_steps`` (step 0 is the starting model). The task (its
data, tokens and rewards, :mod:`.tasks`) is the model's: ``model.config.spec``.

Random streams (numpy SPEC 7): ``rng`` is split with ``spawn`` into children for the training
data, the held-out inputs and torch's sampling generator; model initialisation draws its own
child in :func:`~linparity.transformer.model.build_model`.
"""
from __future__ import annotations

import os
import re
import sys
import warnings

import numpy as np
import torch

from .._checks import as_generator, check_int, check_nonneg, check_positive, check_prob, check_temperature, spawn
from .._io import atomic_write
from .._progress import Progress
from .model import (EOS, MINUS, PLUS, CausalTransformer, TransformerConfig, encode_inputs,
                    generate, make_generator, sequence_log_prob)
from .tasks import make_task

__all__ = ["resolve_device", "evaluate", "exact_pi_long", "pretrain", "star", "reinforce", "grpo",
           "save_checkpoint", "load_checkpoint"]


def resolve_device(device: str = "cpu") -> str:
    """``"cpu"``, ``"cuda"`` (or ``"cuda:k"`` with k a visible GPU) or ``"auto"`` (cuda when available).

    Checked before any work: a device torch would refuse only at the first tensor moved there
    (``cuda:99``, ``cudax``) raises ValueError naming ``device``.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    m = re.fullmatch(r"cuda(?::(\d{1,4}))?", device) if isinstance(device, str) else None
    if m is None:
        raise ValueError(f"device: must be 'cpu', 'cuda', 'cuda:k' or 'auto', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but torch.cuda.is_available() is False; "
                         "use --device cpu")
    n = torch.cuda.device_count()
    if m.group(1) is not None and int(m.group(1)) >= n:
        raise ValueError(f"device: {device!r} names no visible GPU (there are {n}: cuda:0 to cuda:{n - 1})")
    return device


# ---------------------------------------------------------------------------- metrics
def _task(model, p_cot=0.0, chain="full"):
    """The model's task with the demonstrations of D(p_cot) (and parity's ``chain``)."""
    spec = model.config.spec
    return make_task(spec.name, spec.size, p_cot, chain)


@torch.no_grad()
def exact_pi_long(model: CausalTransformer, X) -> np.ndarray:
    """pi(long | x) at temperature 1, ``(n,)``: sum_{y_1 = +-1} pi(y_1|x) (1 - pi(EOS|x, y_1)).

    A response is long when its second token is not EOS (``is_long``); EOS as the first token
    (length 1) is short. Parity only (ValueError naming ``model`` for another task).
    """
    if model.config.task != "parity":
        raise ValueError(f"model: exact pi(long) is computed for the parity task, not {model.config.task!r}")
    dev = model.device
    ids = encode_inputs(X, dev)  # (n, d+1)
    p1 = torch.softmax(model(ids)[:, -1, :].double(), dim=-1)  # (n, 3)
    out = torch.zeros(ids.shape[0], dtype=torch.float64, device=dev)
    for tok in (PLUS, MINUS):
        ids1 = torch.cat([ids, torch.full_like(ids[:, :1], tok)], dim=1)
        p2 = torch.softmax(model(ids1)[:, -1, :].double(), dim=-1)  # (n, 3)
        out += p1[:, tok] * (1.0 - p2[:, EOS])
    return out.cpu().numpy()


@torch.no_grad()
def evaluate(model: CausalTransformer, X, generator: torch.Generator | None = None,
             chain: str = "full") -> dict:
    """Held-out metrics on inputs ``X`` ``(n, d)``: greedy_accuracy, greedy_length, pi_long,
    mean_length (one sample per input at temperature 1), long_fraction (of those samples) and
    pi_long_correct = mean_x pi(L(x)|x) (exact; equals pi_long once the chain is learned, as
    ``closed_form.trajectory_probs(...).p_long_correct`` for the linear model). With
    ``chain="leap2"`` the correct long response is the leap-2 chain (``data.chain_response``).
    The task is the model's; pi_long is None for multiplication (module docstring)."""
    task = _task(model, chain=chain)
    was = model.training
    model.eval()
    Yg = generate(model, X, greedy=True)
    Ys = generate(model, X, temperature=1.0, generator=generator)
    pi_L = torch.exp(sequence_log_prob(model, X, task.long_response(X)).double()).mean().item()
    model.train(was)
    return {"greedy_accuracy": float(task.reward("e2e")(X, Yg).mean()),
            "greedy_length": float(task.length(Yg).mean()),
            "pi_long": float(exact_pi_long(model, X).mean()) if task.name == "parity" else None,
            "mean_length": float(task.length(Ys).mean()),
            "long_fraction": float(task.is_long(Ys).mean()),
            "pi_long_correct": float(pi_L)}


class _Log:
    """Accumulates per-step losses and per-evaluation metrics into lists."""

    def __init__(self, model, X_eval, generator, verbose, chain="full"):
        self.model, self.X_eval, self.gen, self.verbose = model, X_eval, generator, verbose
        self.chain = chain
        self.d = {"eval_steps": [], "loss": []}

    def evaluate(self, step: int):
        m = evaluate(self.model, self.X_eval, self.gen, self.chain)
        self.d["eval_steps"].append(int(step))
        for k, v in m.items():
            self.d.setdefault(k, []).append(v)
        if self.verbose:
            print(f"step {step:6d}  " + "  ".join(f"{k}={v:.4f}" if v is not None else f"{k}=null"
                                                  for k, v in m.items()),
                  file=sys.stderr, flush=True)

    def add(self, **kw):
        """Append one value per key; None (nothing to measure, e.g. an empty kept set) stays None.

        A non-finite value means the training diverged: ValueError, never a NaN in the log."""
        for k, v in kw.items():
            if v is not None and not np.isfinite(v):
                raise ValueError(f"lr: training diverged ({k} = {float(v)} at entry "
                                 f"{len(self.d.get(k, [])) + 1}); lower the learning rate")
            self.d.setdefault(k, []).append(None if v is None else float(v))


def _every(eval_every, steps):
    return max(1, steps // 20) if eval_every is None else check_int("eval_every", eval_every, 1)


def _setup(model, rng, n_eval):
    rng = as_generator(rng)
    g_data, g_eval, g_torch = spawn(rng, 3)
    n_eval = check_int("n_eval", n_eval, 1)
    X_eval = model.config.spec.inputs(n_eval, g_eval)  # (n_eval, d) fresh inputs (parity)
    return g_data, X_eval, make_generator(g_torch, model.device)


def _adam(model, lr, weight_decay=0.0):
    return torch.optim.AdamW(model.parameters(), lr=check_positive("lr", lr),
                             weight_decay=check_nonneg("weight_decay", weight_decay), betas=(0.9, 0.98))


# ---------------------------------------------------------------------------- checkpoints
def save_checkpoint(path, model: CausalTransformer, **meta) -> str:
    """Write the config, weights and ``meta`` (step, p_cot, ...) to ``path`` atomically
    (temporary file in the same folder, then ``os.replace``)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_write(path, lambda fh: torch.save({"config": model.config.to_dict(), "state_dict": state,
                                              "meta": meta}, fh))
    return path


def _first_sentence(e: BaseException) -> str:
    """``Type: first sentence`` of an exception from torch (whose messages run over many lines)."""
    text = " ".join(str(e).split())
    cut = text.find(". ")
    text = text[:cut if 0 <= cut < 240 else 240].rstrip(".")
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def load_checkpoint(path, device="cpu") -> tuple[CausalTransformer, dict]:
    """Model and meta dict from a file written by :func:`save_checkpoint`.

    The file is read with ``torch.load(weights_only=True)`` (no arbitrary objects are unpickled).
    Anything else than a checkpoint of this package (random bytes, an empty or truncated file, a
    missing or invalid ``config``, weights that do not match it or are not finite, a meta entry
    that is not finite) raises a one-line ValueError naming ``checkpoint``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint: no such file {path!r}")

    def bad(why):
        return ValueError(f"checkpoint: {path!r} is not a linparity transformer checkpoint ({why})")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing
            warnings.simplefilter("ignore")
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds here (UnpicklingError, EOFError, RuntimeError, OSError)
        raise bad(_first_sentence(e)) from None
    if not isinstance(blob, dict) or not isinstance(blob.get("config"), dict) \
            or not isinstance(blob.get("state_dict"), dict) or not isinstance(blob.get("meta", {}), dict):
        raise bad("it must hold the dicts 'config', 'state_dict' and 'meta'")
    state = blob["state_dict"]
    for k, v in state.items():
        if not isinstance(v, torch.Tensor) or (v.is_floating_point() and not bool(torch.isfinite(v).all())):
            raise bad(f"weight {k!r} is not a finite tensor")
    meta = dict(blob.get("meta", {}))
    for k, v in meta.items():   # meta goes into the JSON result: plain finite values only
        if not (v is None or isinstance(v, (str, bool, int)) or isinstance(v, float) and np.isfinite(v)):
            raise bad(f"meta {k!r} is {repr(v)[:40]}, not a finite number, a string or null")
    if "p_cot" in meta:
        try:
            check_prob("p_cot", meta["p_cot"])
        except ValueError as e:
            raise bad(f"meta {e}") from None
    try:
        config = TransformerConfig(**blob["config"])
    except (TypeError, ValueError) as e:
        raise bad(f"its config is invalid: {str(e).splitlines()[0]}") from None
    # the weights' shapes against the config on the meta device (no memory): a config far larger
    # than the weights the file holds is refused before a real model of its size is allocated
    with torch.device("meta"):
        want = {k: tuple(v.shape) for k, v in CausalTransformer(config).state_dict().items()}
    have = {k: tuple(v.shape) for k, v in state.items()}
    if want != have:
        diff = sorted(set(want) ^ set(have)) or [k for k in want if want[k] != have[k]]
        raise bad(f"its weights do not match its config {blob['config']}: {diff[0]!r} is "
                  f"{have.get(diff[0], 'missing')}, the config needs {want.get(diff[0], 'no such weight')}")
    try:
        model = CausalTransformer(config)
        model.load_state_dict(state)
    except (TypeError, ValueError, RuntimeError) as e:
        raise bad(f"its weights do not match its config {blob['config']}: {_first_sentence(e)}") from None
    return model.to(resolve_device(device)), meta


# ---------------------------------------------------------------------------- pre-training
def pretrain(model: CausalTransformer, p_cot: float, *, steps: int = 2000, batch_size: int = 256,
             lr: float = 1e-3, weight_decay: float = 0.0, warmup: int = 100,
             eval_every: int | None = None, n_eval: int = 1024, checkpoint_dir=None,
             checkpoint_every: int | None = None, rng=None, verbose: bool = False,
             progress: bool = False, chain: str = "full") -> dict:
    """Online next-token prediction on fresh samples of D(p_cot) (THEORY §3, with a transformer).

    Each step draws ``batch_size`` new pairs (x, y) from the model's task at p_cot (parity:
    ``Mixture(d, p_cot)``; multiplication: long with probability p_cot) and takes one
    AdamW step on the mean response negative log-likelihood
    -1/B sum_i sum_{j <= |y_i|} log pi(y_ij | x_i, y_i,<j) (the input bits and the separator
    carry no loss; nothing after EOS counts). The learning rate warms up linearly over
    ``warmup`` steps, then stays at ``lr``.

    Checkpoints (when ``checkpoint_dir`` is given) are written every ``checkpoint_every``
    steps as ``step_0000100.pt`` and at the end as ``final.pt``, so that RL can start from any
    of them. ``chain="leap2"`` trains on the partial chains of ``Mixture(d, p, chain="leap2")``.
    ``progress`` prints a progress bar (terminal) or a line every 5 s on stderr.
    Returns the log dict (module docstring) with ``loss`` of length ``steps``.
    """
    p_cot = check_prob("p_cot", p_cot)
    steps = check_int("steps", steps, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    warmup = check_int("warmup", warmup, 0)
    every = _every(eval_every, steps)
    if checkpoint_every is not None:
        checkpoint_every = check_int("checkpoint_every", checkpoint_every, 1)
    mix = _task(model, p_cot, chain)
    g_data, X_eval, gen = _setup(model, rng, n_eval)
    opt = _adam(model, lr, weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, (t + 1) / max(warmup, 1)))
    log = _Log(model, X_eval, gen, verbose, chain)
    bar = Progress(steps, f"pretrain {model.config.task} {model.config.d} p_cot={p_cot:g}", "steps", progress)
    log.evaluate(0)
    model.train()
    for t in range(1, steps + 1):
        X, Y = mix.sample(batch_size, g_data)  # (B, d), (B, d+1)
        loss = -sequence_log_prob(model, X, Y).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        log.add(loss=loss.item())
        if t % every == 0 or t == steps:
            log.evaluate(t)
            bar.update(0, loss=loss.item(), greedy_acc=log.d["greedy_accuracy"][-1],
                       pi_long=log.d["pi_long"][-1])
        bar.update(1)
        if checkpoint_dir is not None and checkpoint_every and t % checkpoint_every == 0:
            save_checkpoint(os.path.join(checkpoint_dir, f"step_{t:07d}.pt"), model,
                            step=t, p_cot=p_cot, stage="pretrain")
    if checkpoint_dir is not None:
        log.d["checkpoint"] = save_checkpoint(os.path.join(checkpoint_dir, "final.pt"), model,
                                              step=steps, p_cot=p_cot, stage="pretrain")
    bar.close()
    return log.d


# ---------------------------------------------------------------------------- post-training
def _sample(model, X, tau, gen):
    was = model.training
    model.eval()
    Y = generate(model, X, temperature=tau, generator=gen)
    model.train(was)
    return Y


def star(model: CausalTransformer, *, reward: str = "cot", rounds: int = 20, samples: int = 2048,
         epochs: int = 1, batch_size: int = 256, lr: float = 3e-4, temperature: float = 1.0,
         n_eval: int = 1024, rng=None, verbose: bool = False, progress: bool = False) -> dict:
    """STaR (THEORY §6, Algorithm 1) with NTP fine-tuning on the kept set.

    Each round draws ``samples`` fresh inputs, samples one response each at temperature tau,
    keeps the pairs whose reward is 1, and takes AdamW steps of the NTP loss on the kept set
    for ``epochs`` epochs in shuffled minibatches of ``batch_size``. The optimizer state
    persists across rounds. ``loss``, ``kept_fraction`` and ``kept_long_fraction`` have one
    entry per round; a round that keeps nothing (too early a start) takes no step and records
    ``loss`` and ``kept_long_fraction`` as None (JSON null), and the run goes on. Held-out metrics
    are logged before round 1 and after every round (``eval_steps`` = round).
    """
    task = _task(model)
    rfn = task.reward(reward)
    rounds = check_int("rounds", rounds, 0)
    samples = check_int("samples", samples, 1)
    epochs = check_int("epochs", epochs, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    tau = check_temperature(temperature)
    g_data, X_eval, gen = _setup(model, rng, n_eval)
    opt = _adam(model, lr)
    log = _Log(model, X_eval, gen, verbose)
    bar = Progress(rounds, f"star reward={reward}", "rounds", progress)
    log.evaluate(0)
    for n in range(1, rounds + 1):
        X = task.inputs(samples, g_data)  # (N, d)
        Y = _sample(model, X, tau, gen)  # (N, d+1)
        keep = rfn(X, Y) == 1.0
        Xk, Yk = X[keep], Y[keep]
        losses = []
        for _ in range(epochs):
            order = g_data.permutation(Xk.shape[0])
            for s in range(0, Xk.shape[0], batch_size):
                idx = order[s:s + batch_size]
                loss = -sequence_log_prob(model, Xk[idx], Yk[idx]).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.item())
        log.add(loss=np.mean(losses) if losses else None, kept_fraction=keep.mean(),
                train_mean_length=task.length(Y).mean(), kept_long_fraction=(
                    task.is_long(Yk).mean() if keep.any() else None))
        log.evaluate(n)
        bar.update(1, kept=float(keep.mean()), greedy_acc=log.d["greedy_accuracy"][-1],
                   length=log.d["mean_length"][-1])
    bar.close()
    return log.d


def _policy_gradient(model, advantage_fn, *, reward, steps, batch_size, group, lr, temperature,
                     eval_every, n_eval, rng, verbose, progress=False, name="pg"):
    task = _task(model)
    rfn = task.reward(reward)
    steps = check_int("steps", steps, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    tau = check_temperature(temperature)
    every = _every(eval_every, steps)
    g_data, X_eval, gen = _setup(model, rng, n_eval)
    opt = _adam(model, lr)
    log = _Log(model, X_eval, gen, verbose)
    bar = Progress(steps, f"{name} reward={reward}", "steps", progress)
    log.evaluate(0)
    for t in range(1, steps + 1):
        X = np.repeat(task.inputs(batch_size, g_data), group, axis=0)  # (B*G, d)
        Y = _sample(model, X, tau, gen)  # (B*G, d+1)
        r = rfn(X, Y)  # (B*G,)
        A = torch.as_tensor(advantage_fn(r), dtype=torch.float32, device=model.device)
        loss = -(A * sequence_log_prob(model, X, Y, temperature=tau)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        log.add(loss=loss.item(), kept_fraction=r.mean(), train_mean_length=task.length(Y).mean())
        if t % every == 0 or t == steps:
            log.evaluate(t)
        bar.update(1, reward=float(r.mean()), greedy_acc=log.d["greedy_accuracy"][-1])
    bar.close()
    return log.d


def reinforce(model: CausalTransformer, *, reward: str = "cot", steps: int = 200,
              batch_size: int = 256, lr: float = 1e-4, temperature: float = 1.0,
              eval_every: int | None = None, n_eval: int = 1024, rng=None,
              verbose: bool = False, progress: bool = False) -> dict:
    """REINFORCE with a leave-one-out baseline (THEORY §6).

    Per step: B fresh inputs, one response each at temperature tau, advantage
    A_i = r_i - (sum_j r_j - r_i)/(B-1) (unbiased: the baseline does not depend on y_i), and one
    AdamW step on -1/B sum_i A_i log pi_tau(y_i | x_i): the on-policy gradient of the tempered
    policy's expected reward. ``kept_fraction`` is the batch's mean reward.
    """
    def adv(r):
        n = r.shape[0]
        return r - (r.sum() - r) / max(n - 1, 1) if n > 1 else r
    return _policy_gradient(model, adv, reward=reward, steps=steps, batch_size=batch_size,
                            group=1, lr=lr, temperature=temperature, eval_every=eval_every,
                            n_eval=n_eval, rng=rng, verbose=verbose, progress=progress, name="reinforce")


def grpo(model: CausalTransformer, *, reward: str = "cot", steps: int = 200, batch_size: int = 64,
         group: int = 8, lr: float = 1e-4, temperature: float = 1.0, eval_every: int | None = None,
         n_eval: int = 1024, rng=None, verbose: bool = False, progress: bool = False) -> dict:
    """GRPO without clipping or KL (one on-policy step per batch, THEORY §6).

    Per step: B fresh inputs, G responses each at temperature tau, advantage
    A_ig = (r_ig - mean_g r_i.) / (std_g r_i. + 1e-6) (population std within the group; a group
    with equal rewards gets 0), and one AdamW step on -1/(BG) sum A_ig log pi_tau(y_ig | x_i).
    """
    group = check_int("group", group, 2)

    def adv(r):
        R = r.reshape(-1, group)  # (B, G)
        return ((R - R.mean(axis=1, keepdims=True)) / (R.std(axis=1, keepdims=True) + 1e-6)).ravel()
    return _policy_gradient(model, adv, reward=reward, steps=steps, batch_size=batch_size,
                            group=group, lr=lr, temperature=temperature, eval_every=eval_every,
                            n_eval=n_eval, rng=rng, verbose=verbose, progress=progress, name="grpo")
