"""Transformer replication (optional; needs torch: ``pip install -e .[transformer]``).

A GPT-2-style causal decoder trained online on D(p_cot) by next-token prediction, then
post-trained by STaR, REINFORCE with a baseline or GRPO, with the data, rewards and metrics of
the linear model (:mod:`linparity.data`). See THEORY §7 for what the paper reports.

Tasks (:mod:`.tasks`, numpy only): :class:`Parity` (THEORY §1, the default) and
:class:`Multiplication` (n-digit multiplication with partial products and running sums, THEORY §7);
the model's config names its task, and every routine takes either.

Modules: :mod:`.tasks`, :mod:`.model` (tokens, the network, key/value-cached decoding), :mod:`.train`
(pre-training, RL, checkpoints), :mod:`.cli` (``python -m linparity transformer ...``); progress
on stderr is the core's :mod:`linparity._progress`. This package imports only the core (data, model,
_checks, _io, _progress); the figure experiments T1-T6 live in :mod:`linparity.experiments.transformer`
and :mod:`linparity.figures.transformer`.

Configurations
--------------
README example (800 steps at d = 16, about 2 minutes on 2 cores; progress on stderr)::

    python -m linparity transformer pretrain --d 16 --p-cot 0.2 --json

CPU check (each run a few minutes on 2 cores)::

    python -m linparity transformer pretrain --d 16 --p-cot 0.2 --depth 2 --width 64 \\
        --steps 3000 --batch-size 256 --checkpoint-dir runs/p02
    python -m linparity transformer star --checkpoint runs/p02/final.pt --rounds 12 --samples 2048

Multiplication (2 digits; long-only data is learned in about 800 steps x 128)::

    python -m linparity transformer pretrain --task multiplication --digits 2 --p-cot 0.1 --steps 800 \
        --batch-size 128 --checkpoint-dir runs/m2
    python -m linparity transformer grpo --checkpoint runs/m2/final.pt --steps 60 --batch-size 32

Paper scale (THEORY §7: d = 50, p_cot = 0.25, depth 2-8, width 128-256), for a GPU::

    python -m linparity transformer pretrain --d 50 --p-cot 0.25 --depth 4 --width 256 \\
        --steps 40000 --batch-size 256 --lr 3e-4 --device cuda --checkpoint-dir runs/d50 \\
        --checkpoint-every 5000
    python -m linparity transformer grpo --checkpoint runs/d50/final.pt --steps 500 \\
        --batch-size 64 --group 8 --temperature 1.0 --reward cot --device cuda

(40000 steps x 256 = 1e7 samples, the paper's pre-training budget.)
"""
import importlib.util

#: True when torch can be imported; the CLI module stays importable without it
HAVE_TORCH = importlib.util.find_spec("torch") is not None

from .tasks import Multiplication, Parity, make_task  # noqa: E402  (numpy only)

INSTALL_HINT = ("linparity.transformer needs torch: pip install -e .[transformer] "
                "(the extra pins torch==2.13.0)")

__all__ = ["HAVE_TORCH", "require_torch", "Parity", "Multiplication", "make_task", "CausalTransformer", "TransformerConfig", "build_model",
           "generate", "sequence_log_prob", "evaluate", "exact_pi_long", "pretrain", "star",
           "reinforce", "grpo", "save_checkpoint", "load_checkpoint"]


def require_torch() -> None:
    """Raise ImportError with the install command when torch is missing."""
    if not HAVE_TORCH:
        raise ImportError(INSTALL_HINT)


if HAVE_TORCH:
    from .model import (CausalTransformer, TransformerConfig, build_model, generate,
                        sequence_log_prob)
    from .train import (evaluate, exact_pi_long, grpo, load_checkpoint, pretrain, reinforce,
                        save_checkpoint, star)
else:  # pragma: no cover - exercised only without torch
    def __getattr__(name):
        if name in __all__:
            raise ImportError(INSTALL_HINT)
        raise AttributeError(name)
