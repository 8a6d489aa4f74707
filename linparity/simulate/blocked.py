"""Blocked kernel for Algorithm 3 at batch size 1 (THEORY §3): the chain heads step on blocks.

Algorithm 3 is sequential: the k-th step of a head takes its margin at the weights left by step
k-1. The Pegasos sums make that sequence cheap to replay in blocks. For one chain head l (features
phi = phi_l, labels u, regularisation lambda) with w_0 = 0 and w_k = G_k / (lambda k),

    G_k = G_{k-1} + c_k phi_k,     c_k = sigma(-u_k m_k) u_k,     m_k = <G_{k-1}, phi_k> / (lambda (k-1)).

On a block of B long samples k = k_0+1 .. k_0+B (k_0 >= 1) write G = G_{k_0}; then

    m_{k_0+j} = ( <G, phi_j> + sum_{i<j} c_i <phi_i, phi_j> ) / (lambda (k_0+j-1)),     (1)

so the margins need the block-start products P = <G, phi_j> and the Gram terms only. For
phi_l(z) = [x, y_1..y_{l-1}, y_{l-1} x] the Gram matrix is

    <phi_i, phi_j> = <x_i, x_j> (1 + y_{i,l-1} y_{j,l-1}) + sum_{q<l} y_{iq} y_{jq},          (2)

one B x B GEMM K_x = X_b X_b^T shared by all d-1 heads plus a running sum over q. The products
P of every head are GEMMs of the block X_b ``(B, d)`` against G's x-, y- and y_{l-1} x-parts.
After the c_j of the block (a B^2/2 recursion per head, (1)), the sums move by GEMMs again:

    G += sum_j c_j phi_j,
    S += a_0 G + sum_j a_j c_j phi_j,   a_j = sum_{j' = j}^{B} 1 / (lambda (k_0 + j'))       (3)

(S = sum_k G_k / (lambda k) is the sum of iterates; its update uses G at the block start). A
head with step limit T_l takes only the first min(B, T_l - k_0) steps of a block (c_j = 0 and
a_j over its own steps beyond). This is the arithmetic of the per-sample kernel reassociated:
it equals the per-sample reference to rounding (tested to 1e-12 relative at lambda >= 0.01 for
d <= 24 and at lambda = 0.1 for d = 64; at lambda = 0.01 and d >= 64 the per-sample compiled kernel
itself is ~1e-11 from the Python reference and the blocked one as close; statistically at smaller
lambda; see pretrain's "Floating-point reproducibility").

Heads 1 and 2a are single heads (no shared Gram), so they keep the per-sample loop; the first
chain step (k = 1, margin at w_0) is taken per sample too.

Array layout: as linparity.simulate.ntp's compiled kernel (G*, S*, V* of the heads; chain heads in
LinearAR.packed layout Gx, Gp ``(d-1, d)``, Gy ``(d-1, d-1)`` with row l-2 holding y_1..y_{l-1}).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["sgd_chunk_blocked", "DEFAULT_BLOCK", "BLOCKED_MIN_D"]

#: long samples per block of the chain heads (tuned at d = 64 on the 2-core machine, BENCHMARKS.md)
DEFAULT_BLOCK = 32

#: smallest d at which pretrain uses the blocked kernel for batch size 1 (below it the
#: per-sample kernel is as fast; BENCHMARKS.md)
BLOCKED_MIN_D = 16

# reassociation lets LLVM vectorise the reductions; results change at rounding level
_FASTMATH = {"reassoc", "contract"}


@njit(cache=True, nogil=True)
def sig_neg(m):
    """sigma(-m) = 1 / (1 + e^m), finite for every m including +-inf."""
    if m >= 0.0:
        e = math.exp(-m)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(m))


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def stop_coefficient(A2, X, Y, r, inv):
    """The stop head's score coefficient t sigma(-t m) of sample r (t = +1 for y_2 = EOS), m its
    margin inv <A2, (x, y_1, y_1 x, 1)> with A2 ``(2d+2,)`` the (lazily scaled) weights."""
    d = X.shape[1]
    y1 = Y[r, 0]
    u = 1.0 if Y[r, 1] == 0.0 else -1.0             # +1: y_2 = EOS
    acc = 0.0
    for j in range(d):
        acc += (A2[j] + y1 * A2[d + 1 + j]) * X[r, j]
    acc += A2[d] * y1 + A2[2 * d + 1]
    return sig_neg(u * (acc * inv)) * u


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def chain_sample_update(X, Y, r, h, c, st, Gx, Gy, Gp, Sx, Sy, Sp):
    """One long sample's step of chain head l = h + 2 (lazily scaled Pegasos, see linparity.simulate.ntp):
    G += c phi_l(x_r, y_r) (split into the x, y and y_{l-1} x groups), then S += G / (lam t_long) (st)."""
    cy = c * Y[r, h]
    for j in range(X.shape[1]):
        Gx[h, j] += c * X[r, j]
        Sx[h, j] += Gx[h, j] * st
        Gp[h, j] += cy * X[r, j]
        Sp[h, j] += Gp[h, j] * st
    for q in range(h + 1):
        Gy[h, q] += c * Y[r, q]
        Sy[h, q] += Gy[h, q] * st


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _chain_first_step(X, Y, r, Tc, lamc, Gx, Gy, Gp, Sx, Sy, Sp, Vx, Vy, Vp):
    """Step k = 1 of every chain head on long row r: margin at w_0 = V (Algorithm 3)."""
    d = X.shape[1]
    for h in range(d - 1):          # head l = h + 2
        if Tc[h] < 1:
            continue
        yp = Y[r, h]                # y_{l-1}
        acc = 0.0
        for j in range(d):
            acc += (Vx[h, j] + yp * Vp[h, j]) * X[r, j]
        for q in range(h + 1):
            acc += Vy[h, q] * Y[r, q]
        u = Y[r, h + 1]
        chain_sample_update(X, Y, r, h, sig_neg(u * acc) * u, 1.0 / lamc[h], Gx, Gy, Gp, Sx, Sy, Sp)


@njit(cache=True, nogil=True)
def _workspace(B, d):
    """Scratch arrays of one chain block of B long samples (allocated once per chunk)."""
    H = d - 1
    return (np.empty((B, d)), np.empty((B, H)), np.empty((B, d)),          # Xb, Yq, Yl
            np.empty((B, 2 * H)), np.empty((B, H)), np.empty((B, B)),      # P, YG, Kx
            np.empty((H, B)), np.empty((B, 4 * H)), np.empty((B, H)),      # CT, M (C | CY | CA | CYA), A
            np.empty(H), np.empty(B), np.empty((d, B)), np.empty(H),        # a0, ky, YT, nact
            np.empty((4 * H, d)), np.empty((2 * H, H)), np.empty((B, 2 * H)))  # R, Q, M2


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _chain_block(X, Y, rows, k0, Tc, inv_lam, GXP, Gy, SXP, Sy, ws):
    """Steps k0+1 .. k0+B (B = len(rows) long rows, k0 >= 1) of every chain head, eqs. (1)-(3).

    GXP, SXP ``(2(d-1), d)``: [Gx; Gp] and [Sx; Sp] stacked (one GEMM serves both parts);
    inv_lam ``(d-1,)``: 1 / lambda_l; ws: :func:`_workspace` (B, d).

    Positions j run in the outer loop and heads in the inner one, so the d-1 heads' sigmoids
    at one position are independent (no latency chain). At position j the y-Gram of (2),
    ky_i = sum_{q<l} y_iq y_jq (i < j), grows by one term per head as l runs up, so head l's
    Gram sum is one unit-stride pass over i < j.
    """
    Xb, Yq, Yl, P, YG, Kx, CT, M, A, a0, ky, YT, nact, R, Q, M2 = ws
    d = X.shape[1]
    H = d - 1
    B = rows.shape[0]
    for j in range(B):
        r = rows[j]
        for i in range(d):
            Xb[j, i] = X[r, i]
            Yl[j, i] = Y[r, i]
        for i in range(H):
            Yq[j, i] = Y[r, i]
        for i in range(d):
            YT[i, j] = Y[r, i]
    np.dot(Xb, GXP.T, P)                   # (B, 2H): <G_x, x_j> | <G_p, x_j>
    np.dot(Yq, Gy.T, YG)                   # (B, H): <G_y, y_j>
    np.dot(Xb, Xb.T, Kx)                   # (B, B) shared by all heads, eq. (2)
    for h in range(H):                     # steps of head h in this block; eq. (3) weights
        na = min(max(Tc[h] - k0, 0), B)
        nact[h] = na
        a = 0.0
        for j in range(B - 1, -1, -1):
            if j < na:
                a += inv_lam[h] / (k0 + j + 1)
            A[j, h] = a
        a0[h] = a
    for j in range(B):                     # eq. (1), sequential over the block's positions
        ik = 1.0 / (k0 + j)                # margin of step k0+j+1 is at G_{k0+j} / (lambda (k0+j))
        for i in range(j):
            ky[i] = 0.0
        for h in range(H):                 # head l = h + 2: prev y_{l-1} = Yl[j, h], label Yl[j, h+1]
            yp = Yl[j, h]
            s = 0.0
            for i in range(j):             # sum_{i<j} c_i <phi_i, phi_j>, eq. (2)
                ky[i] += YT[h, i] * yp
                s += CT[h, i] * (Kx[j, i] * (1.0 + YT[h, i] * yp) + ky[i])
            acc = P[j, h] + yp * P[j, H + h] + YG[j, h] + s
            c = 0.0
            if j < nact[h]:
                u = Yl[j, h + 1]
                c = sig_neg(u * (acc * (inv_lam[h] * ik))) * u
            CT[h, j] = c
            M[j, h] = c
            M[j, H + h] = c * yp
            M[j, 2 * H + h] = c * A[j, h]
            M[j, 3 * H + h] = c * yp * A[j, h]
            M2[j, h] = c
            M2[j, H + h] = c * A[j, h]
    # eq. (3): one GEMM for the x-parts of G and S, one for the y-parts
    np.dot(M.T, Xb, R)                     # (4H, d): dG_x | dG_p | dS_x | dS_p
    np.dot(M2.T, Yq, Q)                    # (2H, H): dG_y | dS_y (masked below)
    for h in range(H):
        s = a0[h]
        for i in range(d):
            SXP[h, i] += s * GXP[h, i] + R[2 * H + h, i]
            SXP[H + h, i] += s * GXP[H + h, i] + R[3 * H + h, i]
            GXP[h, i] += R[h, i]
            GXP[H + h, i] += R[H + h, i]
        for q in range(h + 1):             # head l has y_1 .. y_{l-1} only
            Sy[h, q] += s * Gy[h, q] + Q[H + h, q]
            Gy[h, q] += Q[h, q]


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def sgd_chunk_blocked(X, Y, block, t, tl, T1, T2a, Tc, lam1, lam2a, lamc,
                      G1, S1, G2, S2, Gx, Gy, Gp, Sx, Sy, Sp, V1, V2, Vx, Vy, Vp):
    """Algorithm 3 (batch size 1) on the rows of one chunk; returns the updated (t, t_long).

    X ``(n, d)``, Y ``(n, d+1)`` int8 or float64 (EOS = 0); ``block`` >= 1 long samples per chain
    block. Same state and meaning as the per-sample kernel of linparity.simulate.ntp (G* Pegasos
    sums, S* sums of iterates, V* weights before a head's first step; see the module docstring).
    """
    n, d = X.shape
    # ------------------------------------------------------------ heads 1 and 2a, per sample
    for r in range(n):
        tt = t + r + 1
        if tt <= T1:
            A1 = V1 if tt == 1 else G1
            inv = 1.0 if tt == 1 else 1.0 / (lam1 * (tt - 1))
            u = Y[r, 0]
            acc = 0.0
            for j in range(d):
                acc += A1[j] * X[r, j]
            c = sig_neg(u * (acc * inv)) * u
            st = 1.0 / (lam1 * tt)
            for j in range(d):
                G1[j] += c * X[r, j]
                S1[j] += G1[j] * st
        if tt <= T2a:
            A2 = V2 if tt == 1 else G2
            inv = 1.0 if tt == 1 else 1.0 / (lam2a * (tt - 1))
            y1 = Y[r, 0]
            c = stop_coefficient(A2, X, Y, r, inv)
            cy = c * y1
            st = 1.0 / (lam2a * tt)
            for j in range(d):
                G2[j] += c * X[r, j]
                G2[d + 1 + j] += cy * X[r, j]
            G2[d] += cy
            G2[2 * d + 1] += c
            for j in range(2 * d + 2):
                S2[j] += G2[j] * st
    t += n
    # ------------------------------------------------------------ chain heads, in blocks
    longs = np.empty(n, dtype=np.int64)
    nl = 0
    for r in range(n):
        if Y[r, 1] != 0.0:
            longs[nl] = r
            nl += 1
    start = 0
    if nl > 0 and tl == 0:
        _chain_first_step(X, Y, longs[0], Tc, lamc, Gx, Gy, Gp, Sx, Sy, Sp, Vx, Vy, Vp)
        tl = 1
        start = 1
    if start < nl:
        H = d - 1
        GXP = np.empty((2 * H, d))         # [Gx; Gp] and [Sx; Sp] for the chunk
        SXP = np.empty((2 * H, d))
        GXP[:H] = Gx
        GXP[H:] = Gp
        SXP[:H] = Sx
        SXP[H:] = Sp
        inv_lam = 1.0 / lamc
        ws = _workspace(block, d)
        while start < nl:
            stop = min(start + block, nl)
            if stop - start < block:       # the chunk's last, shorter block
                ws = _workspace(stop - start, d)
            _chain_block(X, Y, longs[start:stop], tl, Tc, inv_lam, GXP, Gy, SXP, Sy, ws)
            tl += stop - start
            start = stop
        Gx[:] = GXP[:H]
        Gp[:] = GXP[H:]
        Sx[:] = SXP[:H]
        Sp[:] = SXP[H:]
    return t, tl
