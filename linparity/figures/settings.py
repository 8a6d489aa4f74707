"""Sizes of the quick (CI, < 60 s on 2 cores) and full (< 30 min on 2 cores) runs."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Every size a figure uses; ``QUICK`` and ``FULL`` below."""
    name: str                 # "quick" or "full"
    f1_ds: tuple              # F1 input sizes d
    f1_ps: tuple              # F1 p_cot values simulated
    f1_T: int                 # F1/F2 Algorithm 3 samples per run
    f1_R: int                 # F1/F2 replicates
    n_mc: int                 # Monte Carlo inputs for evaluation when d > 12
    f2_d: int                 # F2 input size (all three routes)
    f3_d: int                 # F3/F4 input size of the STaR simulation and enumeration
    f3_ps: tuple              # F3 p_cot values
    f3_rounds: int            # F3 STaR rounds
    f3_N: int                 # STaR inputs per round (F3, F4, F8)
    f3_R: int                 # F3/F4 STaR replicates
    f4_ps: tuple              # F4 p_cot values simulated
    f5_ds: tuple              # F5 input sizes d
    f5_R: int                 # F5 replicates per budget level (sufficient-statistics route)
    f5_full_ds: tuple         # F5 input sizes d of the full-weight route (kappa 0.5, 1 and fixed p)
    f5_full_ds_k2: tuple      # F5 input sizes d of the full-weight route at kappa = 2 (the costliest)
    f5_full_R: int            # F5 full-weight replicates per budget level
    f5_full_b0: int           # F5 full-weight first budget of the doubling search
    f5_fixed_ps: tuple        # F5 sweep 2: fixed p_cot values (both routes)
    f5_shipped: tuple         # F5: shipped full-weight sweeps examples/runs/NAME (run once, not recomputed), drawn and
                              # fitted with the computed full-weight points
    f5_more_rounds: tuple     # F5: shipped full-weight runs with a longer STaR round limit than n*(p) + 10
                              # (examples/runs/NAME), drawn as stars; with f5_shipped they give the smallest
                              # total per d, fitted in its own REPORT row
    f6_d: int                 # F6 input size (max over all 2^d inputs)
    f6_Ts: tuple              # F6 sample counts T
    f6_R: int                 # F6 replicates
    f6_exact_T: int           # F6 largest T of the full-weight enumeration route
    f7_d: int                 # F7 input size
    f7_steps: int             # F7 policy-gradient steps
    f7_R: int                 # F7 replicates
    f8_ps: tuple              # F8 p_cot values
    f8_Ts: tuple              # F8 pre-training samples
    f8_R: int                 # F8 replicates
    f8_rounds: int            # F8 STaR rounds
    f8_Ns: tuple              # F8 inputs per round N of the (p T, N) boundary sweep at p = max(f8_ps), beside
                              # f3_N (whose runs the (p, T) sweep already has); f8_Ts and f8_R as above
    f12_map_ds: tuple         # F12 input sizes d of the exact map (closed form; enumeration too for d <= 12)
    f12_sim_ds: tuple         # F12 input sizes d of the simulated variants recomputed by the figure
    f12_R: int                # F12 replicates per simulated point
    f12_n_max: int | None     # F12 round limit (None: n*(p) + 30, the shipped spec's)
    f12_shipped: bool         # F12 reads the shipped run examples/runs/rounds-d for the other d


QUICK = Settings(
    name="quick", f1_ds=(5, 20, 50), f1_ps=(0.1, 0.2, 0.27, 0.4, 0.5, 0.65), f1_T=20_000, f1_R=3,
    n_mc=1000, f2_d=8, f3_d=6, f3_ps=(0.01, 0.05, 0.1, 0.2), f3_rounds=8, f3_N=2000, f3_R=3,
    f4_ps=(0.02, 0.1), f5_ds=(8, 16, 32, 64), f5_R=10, f5_full_ds=(3, 4), f5_full_ds_k2=(), f5_full_R=3,
    f5_full_b0=64, f5_fixed_ps=(0.1, 0.25), f5_shipped=(), f5_more_rounds=(), f6_d=6, f6_Ts=(300, 3000, 30_000), f6_R=3,
    f6_exact_T=3000, f7_d=6, f7_steps=30, f7_R=3, f8_ps=(0.05, 0.2), f8_Ts=(30, 3000), f8_R=2,
    f8_rounds=8, f8_Ns=(500, 8000), f12_map_ds=(8, 16, 32), f12_sim_ds=(8,), f12_R=2, f12_n_max=8,
    f12_shipped=False)

FULL = Settings(
    name="full", f1_ds=(5, 20, 50), f1_ps=(0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.37, 0.42, 0.5, 0.6, 0.7),
    f1_T=200_000, f1_R=5, n_mc=4000, f2_d=10, f3_d=10, f3_ps=(0.01, 0.05, 0.1, 0.2), f3_rounds=14,
    f3_N=4000, f3_R=5, f4_ps=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2), f5_ds=(8, 16, 32, 64, 128, 256),
    f5_R=40, f5_full_ds=(6, 8, 12, 16, 24), f5_full_ds_k2=(6, 8, 12), f5_full_R=10, f5_full_b0=256,
    f5_fixed_ps=(0.1, 0.25), f5_shipped=("samples-d32", "samples-d64", "samples-d128", "samples-d128-k1"),
    f5_more_rounds=("samples-d128-rounds", "samples-d256-probe", "samples-p01-rounds",
                    "samples-d128-p01-budgets", "samples-p01-search", "samples-p025-budgets",
                    "samples-kappa-budgets", "samples-d256-k05"), f6_d=8,
    f6_Ts=(100, 300, 1000, 3000, 10_000, 30_000, 100_000, 300_000), f6_R=5,
    f6_exact_T=30_000, f7_d=8, f7_steps=150, f7_R=5, f8_ps=(0.02, 0.05, 0.1, 0.2),
    f8_Ts=(10, 30, 100, 300, 1000, 3000, 10_000), f8_R=3, f8_rounds=14,
    f8_Ns=(1000, 2000, 8000, 16_000, 32_000), f12_map_ds=(8, 16, 32, 64, 128, 256), f12_sim_ds=(8,), f12_R=10, f12_n_max=None, f12_shipped=True)
