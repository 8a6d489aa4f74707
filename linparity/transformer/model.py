"""A GPT-2-style causal decoder over a task's tokens (:mod:`.tasks`: parity, multiplication), and its decoding.

The task (``TransformerConfig.task``, default parity) fixes the vocabulary and the lengths; the
sequence is always the prompt, then the response tokens, and the logits from the prompt's last
position on predict the response. Below, the parity task's layout.

Token layout (one sequence per example, THEORY §1)::

    x_1 ... x_d  SEP  y_1 ... y_k EOS        (k = 1 for a short answer, k = d for a long chain)

Input vocabulary (ids): ``PLUS = 0`` (+1), ``MINUS = 1`` (-1), ``EOS = 2``, ``SEP = 3``.
The output head has only the three response tokens {+1, -1, EOS} (ids 0, 1, 2), so the
model can never emit a separator. The model reads at most ``2d+1`` tokens (input bits, SEP,
and the first d response tokens); the logits at positions ``d .. 2d`` predict the response
tokens y_1 .. y_{d+1}.

Responses are exchanged with the rest of linparity in the int8 format of
:mod:`linparity.data`: width d+1, +-1 bits, then 0 for EOS and 0 padding after it. A
generated response that never emits EOS holds d+1 bits. Rewards and metrics are therefore the
very functions used for the linear model (``reward_cot``, ``reward_e2e``, ``response_length``,
``is_long``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .._checks import as_generator, check_int, check_temperature
from .limits import check_option
from .tasks import MAX_DIGITS, TASKS, Parity, make_task

__all__ = ["PLUS", "MINUS", "EOS", "SEP", "N_OUT", "TransformerConfig", "CausalTransformer",
           "encode_inputs", "encode_responses", "decode_tokens", "response_mask",
           "sequence_log_prob", "generate", "generate_uncached", "n_parameters", "torch_seed",
           "make_generator", "build_model"]

PLUS, MINUS, EOS, SEP = Parity.PLUS, Parity.MINUS, Parity.EOS, Parity.SEP   # the parity task's ids
N_OUT = Parity.n_out  # parity's output vocabulary: +1, -1, EOS


@dataclass(frozen=True)
class TransformerConfig:
    """Architecture of :class:`CausalTransformer`.

    The paper's range is depth 2-8 and width 64-256 (THEORY §7); smaller values are
    accepted for tests.
    """
    d: int             # task size: input bits (parity; the context holds 2d+1 tokens) or digits (multiplication)
    depth: int = 2     # number of transformer blocks, in [1, 16] (limits.RANGES)
    width: int = 128   # residual stream width, in [8, 1024], a multiple of heads
    heads: int = 4     # attention heads per block, in [1, 64]
    mlp_ratio: int = 4  # hidden width of each MLP = mlp_ratio * width, in [1, 16]
    task: str = "parity"  # 'parity' or 'multiplication' (:mod:`.tasks`)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task: must be one of {tuple(TASKS)}, got {self.task!r}")
        if self.task == "multiplication":
            check_int("digits", self.d, 1, MAX_DIGITS)
        for name in ("d", "depth", "width", "heads")[self.task == "multiplication":]:
            check_option(name, getattr(self, name))
        check_int("mlp_ratio", self.mlp_ratio, 1, 16)
        if self.width % self.heads:
            raise ValueError(f"width: must be a multiple of heads={self.heads}, got {self.width}")

    @property
    def spec(self):
        """The task object (:func:`.tasks.make_task`) of this configuration."""
        return make_task(self.task, self.d)

    @property
    def max_len(self) -> int:
        """Longest input the model reads: the prompt and all response tokens but the last (2d+1 for parity)."""
        s = self.spec
        return s.prompt_len + s.response_len - 1

    def to_dict(self) -> dict:
        return asdict(self)


class CausalTransformer(nn.Module):
    """Pre-LayerNorm (GPT-2-style) causal decoder: token + learned position embeddings,
    ``depth`` blocks of masked multi-head self-attention and a GELU MLP, a final LayerNorm
    and a linear head onto {+1, -1, EOS}. No dropout (training is online on fresh samples).

    Built from ``torch.nn.TransformerEncoderLayer(norm_first=True)`` with a causal mask,
    which is exactly a GPT-2 block.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        w = config.width
        task = config.spec
        self.tok = nn.Embedding(task.n_in, w)
        self.pos = nn.Embedding(config.max_len, w)
        layer = nn.TransformerEncoderLayer(w, config.heads, config.mlp_ratio * w, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, config.depth, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(w)
        self.head = nn.Linear(w, task.n_out)
        # GPT-2 initialisation: N(0, 0.02) for embeddings and linear maps
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, m, n_out)`` for token ids ``(n, m)``, m <= max_len; position i sees ids[:, :i+1]."""
        n, m = ids.shape
        if m > self.config.max_len:
            raise ValueError(f"ids: at most {self.config.max_len} tokens, got {m}")
        pos = torch.arange(m, device=ids.device)
        h = self.tok(ids) + self.pos(pos)[None]  # (n, m, width)
        mask = nn.Transformer.generate_square_subsequent_mask(m, device=ids.device)
        h = self.blocks(h, mask=mask, is_causal=True)
        return self.head(self.ln_f(h))  # (n, m, 3)


# ---------------------------------------------------------------------- token conversion
def _task(task, X):
    """``task``, or the parity task of X's width when it is None."""
    return Parity(np.asarray(X).shape[1]) if task is None else task


def encode_inputs(X, device="cpu", task=None) -> torch.Tensor:
    """Prompt token ids ``(n, prompt_len)``; parity (``task`` None): int8 ``(n, d)`` of +-1 -> the bits, then SEP."""
    return torch.as_tensor(_task(task, X).prompt_ids(X), dtype=torch.long, device=device)


def encode_responses(Y, device="cpu", task=None) -> torch.Tensor:
    """Response token ids ``(n, response_len)``; parity: +1 -> PLUS, -1 -> MINUS, 0 -> EOS.

    Padding after the first EOS also becomes EOS; :func:`response_mask` excludes it.
    """
    task = Parity(np.asarray(Y).shape[1] - 1) if task is None else task
    return torch.as_tensor(task.response_ids(Y), dtype=torch.long, device=device)


def decode_tokens(ids, task=None) -> np.ndarray:
    """Generated response ids ``(n, response_len)`` -> the task's responses; parity: int8 ``(n, d+1)``.

    Everything from the first EOS on becomes 0 (parity, the data format of :mod:`linparity.data`) or EOS.
    """
    ids = ids.detach().cpu().numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)
    return (Parity(ids.shape[1] - 1) if task is None else task).responses(ids)


def response_mask(Y, device="cpu", task=None) -> torch.Tensor:
    """Bool ``(n, response_len)``: True on the response tokens that count (every token and the first EOS).

    Position j is in the response iff j < the task's length of Y (which counts EOS).
    """
    Y = np.asarray(Y)
    L = (Parity(Y.shape[1] - 1) if task is None else task).length(Y)  # (n,)
    return torch.as_tensor(np.arange(Y.shape[1])[None, :] < L[:, None], device=device)


def sequence_log_prob(model: CausalTransformer, X, Y, temperature: float = 1.0,
                      per_token: bool = False) -> torch.Tensor:
    """log pi_tau(Y | X) with gradients, ``(n,)`` (or ``(n, response_len)`` masked per token).

    Teacher forcing: the model reads (prompt, y_1..y_{R-1}) (parity: x, SEP, y_1..y_d); the logits
    from the prompt's last position on predict y_1..y_R with probabilities softmax(logits / tau).
    Tokens after the first EOS contribute 0.
    """
    tau = check_temperature(temperature)
    dev = model.device
    task = model.config.spec
    P = task.prompt_len
    yid = encode_responses(Y, dev, task)  # (n, R)
    ids = torch.cat([encode_inputs(X, dev, task), yid[:, :-1]], dim=1)  # (n, P+R-1)
    logits = model(ids)[:, P - 1:, :] / tau  # (n, R, n_out)
    lp = torch.log_softmax(logits, dim=-1).gather(-1, yid[..., None])[..., 0]  # (n, R)
    lp = lp * response_mask(Y, dev, task)
    return lp if per_token else lp.sum(dim=1)


def _sample_step(logits: torch.Tensor, tau: float, greedy: bool,
                 generator: torch.Generator | None) -> torch.Tensor:
    """One token per row from logits ``(n, n_out)``: argmax (ties to the lowest id) or a draw from
    softmax(logits / tau) by ``torch.multinomial`` (float64 probabilities).

    Shared by both decoding paths, so that from the same generator state they draw from the same
    uniforms: for one sample per row torch draws one exponential per entry of the (n, 3)
    probability table whatever its values, so the stream consumed depends only on n.
    """
    if greedy:
        return torch.argmax(logits, dim=-1)
    probs = torch.softmax(logits.double() / tau, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


@torch.no_grad()
def generate_uncached(model: CausalTransformer, X, temperature: float = 1.0, greedy: bool = False,
                      generator: torch.Generator | None = None) -> np.ndarray:
    """Reference decoder: every new token re-reads the whole prefix (no key/value cache).

    Same contract and the same random stream as :func:`generate`; kept to test it and as the
    benchmark's reference (benchmarks/bench_transformer.py).
    """
    tau = 1.0 if greedy else check_temperature(temperature)
    dev = model.device
    task = model.config.spec
    n, R, E = np.asarray(X).shape[0], task.response_len, task.eos
    ids = encode_inputs(X, dev, task)  # (n, prompt_len), grows by one column per step
    out = torch.full((n, R), E, dtype=torch.long, device=dev)
    done = torch.zeros(n, dtype=torch.bool, device=dev)
    for j in range(R):
        tok = _sample_step(model(ids)[:, -1, :], tau, greedy, generator)  # (n,)
        tok = torch.where(done, torch.full_like(tok, E), tok)
        out[:, j] = tok
        done |= tok == E
        if bool(done.all()) or j == R - 1:
            break
        ids = torch.cat([ids, tok[:, None]], dim=1)
    return decode_tokens(out, task)


def _block_step(layer: nn.TransformerEncoderLayer, h: torch.Tensor, kc: torch.Tensor, vc: torch.Tensor,
                t0: int, heads: int) -> torch.Tensor:
    """One pre-LN block on the new positions t0 .. t0+m-1 of ``h`` ``(n, m, w)``, with the keys
    and values of earlier positions read from (and the new ones written to) the caches
    ``kc``, ``vc`` ``(n, heads, 2d+1, w/heads)``.

    The same maps as ``nn.TransformerEncoderLayer(norm_first=True)``:
    h += W_o softmax(q K^T / sqrt(w/heads) + causal mask) V of LN_1(h), then
    h += W_2 gelu(W_1 LN_2(h)).
    """
    n, m, w = h.shape
    hd = w // heads
    sa = layer.self_attn
    qkv = nn.functional.linear(layer.norm1(h), sa.in_proj_weight, sa.in_proj_bias)  # (n, m, 3w)
    q, k, v = (t.reshape(n, m, heads, hd).transpose(1, 2) for t in qkv.split(w, dim=-1))  # (n, H, m, hd)
    kc[:, :, t0:t0 + m] = k
    vc[:, :, t0:t0 + m] = v
    K, V = kc[:, :, :t0 + m], vc[:, :, :t0 + m]  # (n, H, t0+m, hd)
    # prefill (t0 = 0): causal; one new token (m = 1): it may read every cached position
    o = nn.functional.scaled_dot_product_attention(q, K, V, is_causal=(m > 1))  # (n, H, m, hd)
    h = h + sa.out_proj(o.transpose(1, 2).reshape(n, m, w))
    return h + layer.linear2(layer.activation(layer.linear1(layer.norm2(h))))


@torch.inference_mode()
def generate(model: CausalTransformer, X, temperature: float = 1.0, greedy: bool = False,
             generator: torch.Generator | None = None, return_log_prob: bool = False):
    """Sample (or greedily decode) one response per input (the task's format; parity: int8 ``(n, d+1)``);
    key/value cached.

    With ``return_log_prob`` also returns log pi_tau(Y | X) ``(n,)`` float64 (tau = 1 for greedy),
    summed over the response tokens up to and including the first EOS, as
    :func:`sequence_log_prob` computes it by teacher forcing.

    Decoding stops at EOS or after ``response_len`` tokens (d+1 for parity). Sampling draws from
    softmax(logits / tau) with ``torch.multinomial`` and the given generator; greedy takes the
    argmax, ties going to the lowest id (+1 before -1 before EOS, so a bit tie gives +1 and a
    stop tie goes on, the linear model's convention).

    Algorithm: one causal pass over the prompt (x, SEP) fills each block's key/value cache
    ``(n, heads, 2d+1, width/heads)``; each later step feeds only the newest token of the rows
    still decoding (rows that emitted EOS are dropped from the batch and its caches). Tokens
    equal :func:`generate_uncached`'s from the same generator state (the sampler sees the full
    (n, 3) table each step; finished rows get a dummy row, as in the reference); logits agree
    to float32 round-off.
    """
    tau = 1.0 if greedy else check_temperature(temperature)
    dev = model.device
    X = np.asarray(X)
    cfg = model.config
    task = cfg.spec
    n, P, R, E = X.shape[0], task.prompt_len, task.response_len, task.eos
    if task.name == "parity" and X.shape[1] != cfg.d:
        raise ValueError(f"X: the model reads d={cfg.d} bits, got inputs of width {X.shape[1]}")
    H, w = cfg.heads, cfg.width
    layers = list(model.blocks.layers)
    kcs = [torch.empty((n, H, cfg.max_len, w // H), device=dev) for _ in layers]
    vcs = [torch.empty_like(k) for k in kcs]
    ids = encode_inputs(X, dev, task)  # (n, P)
    h = model.tok(ids) + model.pos(torch.arange(P, device=dev))[None]  # (n, P, w)
    for i, layer in enumerate(layers):
        h = _block_step(layer, h, kcs[i], vcs[i], 0, H)
    last = model.head(model.ln_f(h[:, -1, :]))  # (n_active, n_out)
    out = torch.full((n, R), E, dtype=torch.long, device=dev)
    done = torch.zeros(n, dtype=torch.bool, device=dev)
    active = torch.arange(n, device=dev)  # rows still decoding, in batch order
    full = torch.zeros((n, task.n_out), dtype=last.dtype, device=dev)  # finished rows: dummy logits
    logp = torch.zeros(n, dtype=torch.float64, device=dev)
    for j in range(R):
        full.zero_()
        full[active] = last
        tok = _sample_step(full, tau, greedy, generator)  # (n,)
        tok = torch.where(done, torch.full_like(tok, E), tok)
        if return_log_prob:
            lp = torch.log_softmax(full.double() / tau, dim=-1).gather(1, tok[:, None])[:, 0]  # (n,)
            logp += torch.where(done, torch.zeros_like(lp), lp)
        out[:, j] = tok
        done |= tok == E
        if bool(done.all()) or j == R - 1:
            break
        keep = ~done[active]  # (n_active,)
        if not bool(keep.all()):  # drop finished rows from the batch and the caches
            active = active[keep]
            kcs = [k[keep] for k in kcs]
            vcs = [v[keep] for v in vcs]
        t = P + j  # position of the token just emitted
        h = model.tok(tok[active])[:, None, :] + model.pos.weight[t][None, None, :]  # (n_active, 1, w)
        for i, layer in enumerate(layers):
            h = _block_step(layer, h, kcs[i], vcs[i], t, H)
        last = model.head(model.ln_f(h[:, -1, :]))
    Y = decode_tokens(out, task)
    return (Y, logp.cpu().numpy()) if return_log_prob else Y


def n_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def torch_seed(rng: np.random.Generator) -> int:
    """A 63-bit seed for torch drawn from a numpy Generator (keeps SPEC 7 plumbing)."""
    return int(rng.integers(0, 2 ** 63 - 1))


def make_generator(rng: np.random.Generator, device) -> torch.Generator:
    """A torch Generator on ``device`` seeded from ``rng``."""
    g = torch.Generator(device=device)
    g.manual_seed(torch_seed(rng))
    return g


def build_model(config: TransformerConfig, rng=None, device="cpu") -> CausalTransformer:
    """A freshly initialised model; the initialisation is drawn from ``rng`` without touching
    torch's global random state (``torch.random.fork_rng``)."""
    seed = torch_seed(as_generator(rng))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CausalTransformer(config)
    return model.to(device)
