"""The compiled CPU kernels (numba) and the elementwise and row-block helpers they inline.

The torch-facing wrappers live in :mod:`.numba_srn`, :mod:`.numba_lstm`,
:mod:`.numba_gru`, :mod:`dynrec.training.numba_ce` and
:mod:`dynrec.training.numba_elman`; every ``@njit`` function is here, in ONE file,
on purpose: numba's on-disk cache (``cache=True``) is invalidated by the
modification time of the file that defines a kernel, not by the files of the
helpers inlined into it, so a helper kept elsewhere could change while a stale
compiled kernel kept being loaded.

LLVM (as numba drives it, without Intel's SVML) turns a loop that calls
``math.exp`` or ``math.tanh`` into one libm call per element.  For float32 the
functions here instead compute ``exp`` by range reduction and a polynomial,
which LLVM vectorises (AVX2: eight lanes):

    exp(y) = 2^k * exp(r),   k = round(y / ln 2),   r = y - k ln 2,   |r| <= ln(2)/2

with ``ln 2`` split in a part exact in float32 and a small rest (Cody & Waite
1980, "Software manual for the elementary functions", ch. 6), ``exp(r)`` by
its Taylor polynomial to degree 7 (truncation below 3e-8 relative on that
interval, under float32's rounding), and ``2^k`` written straight into the
exponent bits of a float32 (an LLVM ``bitcast``, :func:`_as_float32`).  On top of it

    tanh(x) = sign(x) (1 - e) / (1 + e),   e = exp(-2|x|)
    sigmoid(x) = 1 / (1 + exp(-x))
    log(x) = k ln 2 + 2 atanh(z),   x = 2^k m,  m in [sqrt(1/2), sqrt(2)),  z = (m - 1)/(m + 1)

(the atanh series to z^9: truncation below 1e-9 for |z| < 0.172).  Measured
against float64 references over 1M normal samples (s.d. 3): largest absolute
error 9e-8 for tanh and sigmoid, the order of torch's own float32 kernels
(3e-8); about 1.6G (tanh) and 2.3G (sigmoid) elements/s on one core with fused
multiply-adds (see ``_FMA``), against 35M/s for a libm ``tanh`` per element
(benchmarked while writing this module).

float64 calls libm (``math.tanh``, ``math.exp``, ``math.log``): it serves
analysis, where the last digits matter more than the speed.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

TANH, SIGMOID, RELU = 0, 1, 2
CODES = {"tanh": TANH, "sigmoid": SIGMOID, "relu": RELU}

_F = np.float32
_LOG2E = _F(1.4426950408889634)
_LN2 = _F(0.6931471805599453)
_LN2_HI = _F(0.693359375)       # exact in float32 (few mantissa bits)
_LN2_LO = _F(-2.12194440e-4)    # ln 2 - _LN2_HI
_LOW, _HIGH = _F(-87.0), _F(87.0)  # 2^k stays a normal float32 for k in [-126, 126]
_ONE, _TWO, _HALF = _F(1.0), _F(2.0), _F(0.5)
_C2, _C3, _C4, _C5, _C6, _C7 = (_F(1 / math.factorial(n)) for n in range(2, 8))

# The one fast-math liberty taken: a * b + c may become one fused multiply-add (one rounding
# instead of two, so never less accurate).  Without it LLVM keeps every multiply and add apart,
# and the polynomials and row products run at about half speed (measured: sigmoid 1.1G -> 2.3G
# elements/s, the LSTM forward kernel 15-20% faster).  NaN and infinity keep their IEEE meaning:
# a diverging network still shows up as non-finite numbers.
_FMA = {"contract"}
_INLINE = dict(inline="always", fastmath=_FMA)


@intrinsic
def _as_float32(typingctx, bits):
    """The float32 whose bit pattern is the int32 ``bits`` (no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _as_int32(typingctx, value):
    """The int32 whose bit pattern is the float32 ``value``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@nb.njit(**_INLINE)
def exp32(y):
    """exp(y) for a float32 y (clamped to [-87, 87]: 1.6e-38 .. 6.1e37)."""
    y = min(max(y, _LOW), _HIGH)
    k = np.floor(y * _LOG2E + _HALF)
    r = (y - k * _LN2_HI) - k * _LN2_LO
    p = _C7 * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + _ONE
    p = p * r + _ONE
    return p * _as_float32((np.int32(k) + np.int32(127)) << np.int32(23))


@nb.njit(**_INLINE)
def log32(x):
    """log(x) for a positive normal float32 x."""
    bits = _as_int32(x)
    m = (bits & np.int32(0x007FFFFF)) | np.int32(0x3F800000)   # the mantissa as a float in [1, 2)
    big = m > np.int32(0x3FB504F3)                            # m > sqrt(2): use m / 2, k + 1
    k = ((bits >> np.int32(23)) & np.int32(0xFF)) - np.int32(127) + (np.int32(1) if big else np.int32(0))
    mf = _as_float32(m - (np.int32(0x00800000) if big else np.int32(0)))
    z = (mf - _ONE) / (mf + _ONE)
    z2 = z * z
    p = _F(1 / 9) * z2 + _F(1 / 7)
    p = p * z2 + _F(1 / 5)
    p = p * z2 + _F(1 / 3)
    p = p * z2 + _ONE
    return _F(k) * _LN2 + _TWO * z * p


@nb.njit(**_INLINE)
def tanh32(x):
    e = exp32(_F(-2.0) * abs(x))
    return math.copysign((_ONE - e) / (_ONE + e), x)


@nb.njit(**_INLINE)
def sigmoid32(x):
    return _ONE / (_ONE + exp32(-x))


@nb.njit(**_INLINE)
def exp_block(a):
    """a[:] = exp(a) in place (1-D contiguous)."""
    if a.itemsize == 8:  # float64
        for i in range(a.size):
            a[i] = math.exp(a[i])
    else:
        for i in range(a.size):
            a[i] = exp32(a[i])


@nb.njit(**_INLINE)
def log_block(a):
    """a[:] = log(a) in place (1-D contiguous, a > 0)."""
    if a.itemsize == 8:
        for i in range(a.size):
            a[i] = math.log(a[i])
    else:
        for i in range(a.size):
            a[i] = log32(a[i])


@nb.njit(**_INLINE)
def activate_block(a, act):
    """a[:] = f(a) in place (1-D contiguous), f by code TANH / SIGMOID / RELU."""
    n = a.size
    if act == RELU:
        for i in range(n):
            if a[i] < 0:
                a[i] = 0
    elif a.itemsize == 8:
        if act == TANH:
            for i in range(n):
                a[i] = math.tanh(a[i])
        else:
            for i in range(n):
                a[i] = 1.0 / (1.0 + math.exp(-a[i]))
    elif act == TANH:
        for i in range(n):
            a[i] = tanh32(a[i])
    else:
        for i in range(n):
            a[i] = sigmoid32(a[i])


@nb.njit(**_INLINE)
def derivative(h, act):
    """f'(pre) from the activation's output h = f(pre)."""
    if act == TANH:
        return _ONE - h * h
    if act == SIGMOID:
        return h * (_ONE - h)
    return _ONE if h > 0 else _F(0.0)


# ---- whole blocks (C-contiguous, same shape) as flat loops: numba's array expressions
# ---- (``a += b``, ``a[:] = b`` on 2-D blocks) cost several times more here (measured: ``gb += db``
# ---- alone was a fifth of the LSTM backward at E = 256).
@nb.njit(**_INLINE)
def add_block(out, a):
    """out += a."""
    o, s = out.reshape(out.size), a.reshape(a.size)
    for i in range(o.size):
        o[i] += s[i]


@nb.njit(**_INLINE)
def copy_block(out, a):
    """out[...] = a."""
    o, s = out.reshape(out.size), a.reshape(a.size)
    for i in range(o.size):
        o[i] = s[i]


@nb.njit(**_INLINE)
def zero_block(out):
    """out[...] = 0."""
    o = out.reshape(out.size)
    for i in range(o.size):
        o[i] = 0


# ---- row-block linear algebra: every array's last axis is the member axis E, and every
# ---- loop below runs along it (contiguous), so LLVM vectorises each one.
@nb.njit(**_INLINE)
def set_rows(out, bias):
    """out[r, :] = bias[r, :]."""
    for r in range(out.shape[0]):
        o, b = out[r], bias[r]
        for e in range(o.size):
            o[e] = b[e]


@nb.njit(**_INLINE)
def add_matvec(out, w, v):
    """out[r, :] += sum_k w[r, k, :] * v[k, :]  (each member's matrix times its vector; up to four
    k per pass over the row)."""
    n_k = v.shape[0]
    for r in range(out.shape[0]):
        o = out[r]
        k = 0
        while k + 3 < n_k:
            w0, w1, w2, w3, v0, v1, v2, v3 = w[r, k], w[r, k + 1], w[r, k + 2], w[r, k + 3], v[k], v[k + 1], v[k + 2], v[k + 3]
            for e in range(o.size):
                o[e] += (w0[e] * v0[e] + w1[e] * v1[e]) + (w2[e] * v2[e] + w3[e] * v3[e])
            k += 4
        if k + 1 < n_k:
            w0, w1, v0, v1 = w[r, k], w[r, k + 1], v[k], v[k + 1]
            for e in range(o.size):
                o[e] += w0[e] * v0[e] + w1[e] * v1[e]
            k += 2
        if k < n_k:
            w0, v0 = w[r, k], v[k]
            for e in range(o.size):
                o[e] += w0[e] * v0[e]


@nb.njit(**_INLINE)
def backprop_matvec(gw, dv, w, d, v):
    """The backward of ``out = W v`` (per member) for the gradient ``d`` at ``out``:
    gw[r, k, :] += d[r, :] * v[k, :]  and  dv[k, :] += w[r, k, :] * d[r, :], in one pass."""
    for r in range(d.shape[0]):
        dr = d[r]
        for k in range(v.shape[0]):
            gwrk, wrk, vk, dvk = gw[r, k], w[r, k], v[k], dv[k]
            for e in range(dr.size):
                gwrk[e] += dr[e] * vk[e]
                dvk[e] += wrk[e] * dr[e]


@nb.njit(**_INLINE)
def affine_input(out, bias, w, x):
    """out[r, :] = bias[r, :] + sum_i w[r, i, :] * x[i, :] for inputs x [I, E], or x [I, 1]
    shared by all members (zeros skipped: a one-hot symbol costs one pass, bias included)."""
    for r in range(out.shape[0]):
        o, br = out[r], bias[r]
        fresh = True                       # o still to be written (the bias goes in with the first term)
        for i in range(x.shape[0]):
            wri = w[r, i]
            if x.shape[1] == 1:
                xi = x[i, 0]
                if xi == 0:
                    continue
                if fresh:
                    for e in range(o.size):
                        o[e] = br[e] + wri[e] * xi
                else:
                    for e in range(o.size):
                        o[e] += wri[e] * xi
            else:
                xe = x[i]
                if fresh:
                    for e in range(o.size):
                        o[e] = br[e] + wri[e] * xe[e]
                else:
                    for e in range(o.size):
                        o[e] += wri[e] * xe[e]
            fresh = False
        if fresh:
            for e in range(o.size):
                o[e] = br[e]


@nb.njit(**_INLINE)
def add_outer_input(g, d, x):
    """g[r, i, :] += d[r, :] * x[i, :], x as in :func:`affine_input`."""
    for r in range(d.shape[0]):
        dr = d[r]
        for i in range(x.shape[0]):
            gri = g[r, i]
            if x.shape[1] == 1:
                xi = x[i, 0]
                if xi != 0:
                    for e in range(dr.size):
                        gri[e] += dr[e] * xi
            else:
                xe = x[i]
                for e in range(dr.size):
                    gri[e] += dr[e] * xe[e]


# ---- the same products for a whole batch at once: out [B, R, E], v [B, >=K, E] (rows k of v
# ---- from 0).  The weight row w[r, k, :] is loaded once for all B strings, so weight traffic
# ---- is per step, not per step and string (what makes 10-unit LSTMs at E ~ 1000 fast: their
# ---- U alone is 4H*H*E*4 bytes = 1.6 MB, beyond the core's L2).  The rows of out, v and dv
# ---- stream from L2, so each pass takes several terms of a sum at once: four k in the forward,
# ---- two r in the backward (measured, 10 units, E = 1024: 6-7 -> 8-10 GFMA/s).
@nb.njit(**_INLINE)
def add_matvec_batch(out, w, v, rows):
    """out[b, r, :] += sum_k w[r, k, :] * v[b, k, :] for the strings b with rows[b] != 0."""
    n_k = w.shape[1]
    for r in range(w.shape[0]):
        k = 0
        while k + 3 < n_k:
            w0, w1, w2, w3 = w[r, k], w[r, k + 1], w[r, k + 2], w[r, k + 3]
            for b in range(out.shape[0]):
                if rows[b]:
                    o, v0, v1, v2, v3 = out[b, r], v[b, k], v[b, k + 1], v[b, k + 2], v[b, k + 3]
                    for e in range(o.size):
                        o[e] += (w0[e] * v0[e] + w1[e] * v1[e]) + (w2[e] * v2[e] + w3[e] * v3[e])
            k += 4
        while k < n_k:
            w0 = w[r, k]
            for b in range(out.shape[0]):
                if rows[b]:
                    o, v0 = out[b, r], v[b, k]
                    for e in range(o.size):
                        o[e] += w0[e] * v0[e]
            k += 1


@nb.njit(**_INLINE)
def backprop_matvec_batch(gw, dv, w, d, v, rows):
    """The backward of :func:`add_matvec_batch` for the gradient d [B, R, E] at ``out``:
    gw[r, k, :] += sum_b d[b, r, :] * v[b, k, :]  and  dv[b, k, :] += w[r, k, :] * d[b, r, :]
    (strings with rows[b] == 0 skipped).  Two r per pass, and the last row alone when R is odd
    (a GRU's H-row blocks).  (Two strings per pass as well was measured and dropped: 53 -> 60-79
    ms for the whole LSTM backward at 10 units, E = 1024.)"""
    n_r = w.shape[0]
    for r in range(0, n_r - 1, 2):
        for k in range(w.shape[1]):
            w0, w1, g0, g1 = w[r, k], w[r + 1, k], gw[r, k], gw[r + 1, k]
            for b in range(d.shape[0]):
                if rows[b]:
                    d0, d1, vk, dvk = d[b, r], d[b, r + 1], v[b, k], dv[b, k]
                    for e in range(d0.size):
                        g0[e] += d0[e] * vk[e]
                        g1[e] += d1[e] * vk[e]
                        dvk[e] += w0[e] * d0[e] + w1[e] * d1[e]
    if n_r % 2:
        r = n_r - 1
        for k in range(w.shape[1]):
            w0, g0 = w[r, k], gw[r, k]
            for b in range(d.shape[0]):
                if rows[b]:
                    d0, vk, dvk = d[b, r], v[b, k], dv[b, k]
                    for e in range(d0.size):
                        g0[e] += d0[e] * vk[e]
                        dvk[e] += w0[e] * d0[e]


# ================================================================ the kernels
_JIT = dict(nogil=True, cache=True, error_model="numpy", fastmath=_FMA)


# ---- layouts: the kernels' time-major, member-innermost [T, B, K, E] against the
# ---- networks' [E, B, T, K] (what ``net(x)`` returns and what user losses run fastest on:
# ---- torch's elementwise ops on a member-innermost view, mixed with a broadcast target,
# ---- run 2-3x slower than on a contiguous tensor).
@nb.njit(**_JIT)
def copy_4d(src, dst):
    """dst[...] = src for two 4-D arrays of one shape, in any strides.  The loops run in index
    order, last axis innermost: pass both as [T, B, K, E] views, so the kernel-layout side is the
    C-contiguous one (``logits.transpose(2, 1, 3, 0)`` as dst, say, for [T,B,K,E] -> [E,B,T,K])."""
    for t in range(src.shape[0]):
        for b in range(src.shape[1]):
            for k in range(src.shape[2]):
                s, d = src[t, b, k], dst[t, b, k]
                for e in range(s.size):
                    d[e] = s[e]


@nb.njit(**_JIT)
def transpose_rows(src, dst):
    """dst[k, i] = src[i, k]: [N, K] (any strides) to C-contiguous [K, N]."""
    for i in range(src.shape[0]):
        for k in range(src.shape[1]):
            dst[k, i] = src[i, k]


# ---- SRN (models/numba_srn.py)
@nb.njit(**_JIT)
def srn_forward_kernel(x, u, b, w, v, c, h0, keep, act, states, y):
    steps, batch = x.shape[:2]
    size = states.shape[2] * states.shape[3]
    for bb in range(batch):
        for t in range(steps):
            hp = h0[bb] if t == 0 else states[t - 1, bb]
            a = states[t, bb]
            if keep[t, bb]:
                affine_input(a, b, u, x[t, bb])  # b + U x_t + W h_{t-1}
                add_matvec(a, w, hp)
                activate_block(a.reshape(size), act)
            else:                              # a padded step holds the state (nothing computed)
                copy_block(a, hp)
            set_rows(y[t, bb], c)              # y_t = V h_t + c
            add_matvec(y[t, bb], v, a)


@nb.njit(**_JIT)
def srn_backward_kernel(x, u, w, v, h0, keep, act, states, grad_y, grad_h, has_gy, has_gh,
              gu, gb, gw, gv, gc, gh0, dpre):
    steps, batch = x.shape[:2]
    n_h, members = gb.shape
    whole = dpre.shape[0] == steps                     # keep every step's dpre (for dL/dx)
    g = np.empty((n_h, members), states.dtype)
    carry = np.zeros((n_h, members), states.dtype)   # W^T dpre_{t+1}
    for bb in range(batch):
        zero_block(carry)
        for t in range(steps - 1, -1, -1):
            h = states[t, bb]
            hp = h0[bb] if t == 0 else states[t - 1, bb]
            # g_t = carry + dL/dh_t + V^T dL/dy_t;  dV += dL/dy_t h_t^T,  dc += dL/dy_t
            copy_block(g, carry)
            if has_gh:
                add_block(g, grad_h[t, bb])
            if has_gy:
                add_block(gc, grad_y[t, bb])
                backprop_matvec(gv, g, v, grad_y[t, bb], h)
            dp = dpre[t if whole else 0, bb]
            if not keep[t, bb]:       # held step: dh passes to h_{t-1}, no pre-activation gradient
                zero_block(dp)
                copy_block(carry, g)
                continue
            for j in range(n_h):
                dpj, gj, hj = dp[j], g[j], h[j]
                for e in range(members):
                    dpj[e] = gj[e] * derivative(hj[e], act)
            # db += dpre_t,  dW += dpre_t h_{t-1}^T,  dU += dpre_t x_t^T,  carry = W^T dpre_t
            add_block(gb, dp)
            add_outer_input(gu, dp, x[t, bb])
            zero_block(carry)
            backprop_matvec(gw, carry, w, dp, hp)
        gh0[bb] = carry

# ---- LSTM (models/numba_lstm.py)
@nb.njit(**_JIT)
def lstm_forward_kernel(x, wi, b, u, peep, v, c, hc0, keep, states, y, gates):
    steps, batch = x.shape[:2]
    rows, members = b.shape
    n = rows // 4
    has_peep = peep.shape[0] > 0
    for t in range(steps):
        prev = hc0 if t == 0 else states[t - 1]     # [B, 2H, E]
        a = gates[t]
        live = keep[t]                               # padded steps hold (h, c): nothing computed
        for bb in range(batch):                      # a_t = W x_t + b + U h_{t-1}
            if live[bb]:
                affine_input(a[bb], b, wi, x[t, bb])
        add_matvec_batch(a, u, prev, live)           # (rows k < H of prev: h)
        for bb in range(batch):
            ab, pb, sb = a[bb], prev[bb], states[t, bb]
            if not live[bb]:                         # (its gate rows stay unwritten: never read)
                copy_block(sb, pb)
                set_rows(y[t, bb], c)
                add_matvec(y[t, bb], v, sb[:n])
                continue
            if has_peep:                             # i, f see c_{t-1}
                for j in range(n):
                    ai, af, pi, pf, cj = ab[j], ab[n + j], peep[0, j], peep[1, j], pb[n + j]
                    for e in range(members):
                        ai[e] += pi[e] * cj[e]
                        af[e] += pf[e] * cj[e]
            activate_block(ab[:2 * n].reshape(2 * n * members), SIGMOID)
            activate_block(ab[2 * n:3 * n].reshape(n * members), TANH)
            for j in range(n):
                ai, af, ag, cj, cnj = ab[j], ab[n + j], ab[2 * n + j], pb[n + j], sb[n + j]
                for e in range(members):
                    cnj[e] = af[e] * cj[e] + ai[e] * ag[e]
            if has_peep:                             # o sees c_t
                for j in range(n):
                    ao, po, cnj = ab[3 * n + j], peep[2, j], sb[n + j]
                    for e in range(members):
                        ao[e] += po[e] * cnj[e]
            activate_block(ab[3 * n:].reshape(n * members), SIGMOID)
            hb = sb[:n]                              # h_t = o tanh(c_t)
            copy_block(hb, sb[n:])
            activate_block(hb.reshape(n * members), TANH)
            for j in range(n):
                ao, hj = ab[3 * n + j], hb[j]
                for e in range(members):
                    hj[e] *= ao[e]
            set_rows(y[t, bb], c)                    # y_t = V h_t + c
            add_matvec(y[t, bb], v, sb[:n])


@nb.njit(**_JIT)
def lstm_backward_kernel(x, wi, u, peep, v, hc0, keep, states, gates, grad_y, grad_s, has_gy, has_gs,
              gwi, gb, gu, gpeep, gv, gc, ghc0, dpre):
    steps, batch = x.shape[:2]
    rows, members = gb.shape
    n = rows // 4
    has_peep = peep.shape[0] > 0
    whole = dpre.shape[0] == steps                    # keep every step's gradient (for dL/dx)
    carry = np.zeros((batch, 2 * n, members), states.dtype)   # dL/d(h_t, c_t) from the steps after t
    dct = np.empty((n, members), states.dtype)
    tc = np.empty((n, members), states.dtype)
    for t in range(steps - 1, -1, -1):
        prev = hc0 if t == 0 else states[t - 1]
        dp = dpre[t if whole else 0]
        for bb in range(batch):
            sb, pb, cb, db = states[t, bb], prev[bb], carry[bb], dp[bb]
            # total gradient at (h_t, c_t): carried + direct + V^T dL/dy_t (into h)
            if has_gs:
                add_block(cb, grad_s[t, bb])
            if has_gy:
                add_block(gc, grad_y[t, bb])
                backprop_matvec(gv, cb[:n], v, grad_y[t, bb], sb[:n])
            if not keep[t, bb]:   # held step: the gradient passes to (h_{t-1}, c_{t-1}) untouched
                zero_block(db)
                continue
            ab = gates[t, bb]
            copy_block(tc, sb[n:])
            activate_block(tc.reshape(n * members), TANH)
            for j in range(n):
                ai, af, ag, ao = ab[j], ab[n + j], ab[2 * n + j], ab[3 * n + j]
                tcj, dh, dc, cp = tc[j], cb[j], cb[n + j], pb[n + j]
                d_i, d_f, d_g, d_o = db[j], db[n + j], db[2 * n + j], db[3 * n + j]
                dcj = dct[j]
                for e in range(members):
                    d_o[e] = dh[e] * tcj[e] * ao[e] * (1 - ao[e])
                    dcj[e] = dc[e] + dh[e] * ao[e] * (1 - tcj[e] * tcj[e])
                if has_peep:
                    po = peep[2, j]
                    for e in range(members):
                        dcj[e] += po[e] * d_o[e]
                for e in range(members):
                    d_i[e] = dcj[e] * ag[e] * ai[e] * (1 - ai[e])
                    d_f[e] = dcj[e] * cp[e] * af[e] * (1 - af[e])
                    d_g[e] = dcj[e] * ai[e] * (1 - ag[e] * ag[e])
                    dc[e] = dcj[e] * af[e]              # -> dL/dc_{t-1}
                if has_peep:
                    pi, pf = peep[0, j], peep[1, j]
                    gpi, gpf, gpo = gpeep[0, j], gpeep[1, j], gpeep[2, j]
                    cn = sb[n + j]
                    for e in range(members):
                        dc[e] += pi[e] * d_i[e] + pf[e] * d_f[e]
                        gpi[e] += d_i[e] * cp[e]
                        gpf[e] += d_f[e] * cp[e]
                        gpo[e] += d_o[e] * cn[e]
            # db += da_t,  dW += da_t x_t^T;  dL/dh_{t-1} = U^T da_t below (for all strings at once)
            add_block(gb, db)
            add_outer_input(gwi, db, x[t, bb])
            zero_block(cb[:n])
        # dU += sum_b da_t h_{t-1}^T and dL/dh_{t-1} += U^T da_t (a held row has da = 0 and keeps
        # its carried gradient)
        backprop_matvec_batch(gu, carry, u, dp, prev, keep[t])
    copy_block(ghc0, carry)

# ---- softmax cross-entropy (training/numba_ce.py)
@nb.njit(**_INLINE)
def softmax_parts(y, top, shifted, total):
    """For logits y [O, N] (N members or positions): top = max_o y, shifted = exp(y - top),
    total = sum_o shifted (the softmax is shifted / total, the log-sum-exp top + log total)."""
    n_out, n = y.shape
    top[:] = y[0]
    for o in range(1, n_out):
        yo = y[o]
        for e in range(n):
            top[e] = max(top[e], yo[e])
    for o in range(n_out):
        yo, so = y[o], shifted[o]
        for e in range(n):
            so[e] = yo[e] - top[e]
    exp_block(shifted.reshape(n_out * n))
    total[:] = shifted[0]
    for o in range(1, n_out):
        so = shifted[o]
        for e in range(n):
            total[e] += so[e]


@nb.njit(**_JIT)
def ce_forward_kernel(y, target, loss, prob):
    n1, n_out, n2 = y.shape
    top = np.empty(n2, y.dtype)
    total = np.empty(n2, y.dtype)
    inv = np.empty(n2, y.dtype)
    for a in range(n1):
        ya, pa = y[a], prob[a]
        softmax_parts(ya, top, pa, total)
        for e in range(n2):
            inv[e] = 1 / total[e]
        for o in range(n_out):
            po = pa[o]
            for e in range(n2):
                po[e] *= inv[e]
        log_block(total)
        la, ta = loss[a], target[a]
        for e in range(n2):
            k = ta[e]
            if k < 0 or k >= n_out:
                return a * n2 + e       # flat index of the first bad target (nothing after it is read)
            la[e] = total[e] - (ya[k, e] - top[e])
    return -1


@nb.njit(**_JIT)
def ce_backward_kernel(prob, target, grad, out):
    n1, n_out, n2 = prob.shape
    for a in range(n1):
        ga, ta = grad[a], target[a]
        for o in range(n_out):
            po, oo = prob[a, o], out[a, o]
            for e in range(n2):
                oo[e] = po[e] * ga[e]
        for e in range(n2):
            out[a, ta[e], e] -= ga[e]


# ---- per-string metrics of next-symbol prediction (training/numba_metrics.py)
@nb.njit(**_JIT)
def prediction_metrics_kernel(y, target, mask, counted, loss, right, count):
    """Softmax cross-entropy summed over each string's real positions, and the argmax criterion.

    y [T,B,O,E] logits; target [T,B,Et] int64 (Et = E, or 1 when every member reads the same
    strings); mask, counted [T,B,Et] uint8 (real positions; deterministic positions).
    Accumulates into loss [B,E] (sum of -log softmax(y)_target where mask), right [B,E] (counted
    positions whose largest output, the first on ties, is the target) and count [B,E] (counted
    positions).  A target outside [0, O) at a counted or real position returns its flat index
    into [T,B,Et]; -1 when all are valid.
    """
    steps, batch, n_out, members = y.shape
    shared = target.shape[2] == 1
    top = np.empty(members, y.dtype)
    total = np.empty(members, y.dtype)
    shifted = np.empty((n_out, members), y.dtype)
    for t in range(steps):
        for b in range(batch):
            yb, lb, rb, cb = y[t, b], loss[b], right[b], count[b]
            tb, mb, kb = target[t, b], mask[t, b], counted[t, b]
            if shared and mb[0] == 0 and kb[0] == 0:
                continue
            for i in range(mb.size):
                if (mb[i] != 0 or kb[i] != 0) and (tb[i] < 0 or tb[i] >= n_out):
                    return (t * batch + b) * mb.size + i
            # log-sum-exp of every member's outputs (cheap next to a branch per member)
            softmax_parts(yb, top, shifted, total)
            log_block(total)
            if shared:
                k = tb[0]
                yk = yb[k]
                if mb[0] != 0:
                    for e in range(members):
                        lb[e] += total[e] + top[e] - yk[e]
                if kb[0] != 0:
                    for e in range(members):
                        ok = True
                        for o in range(n_out):
                            if o < k:
                                ok = ok and yk[e] > yb[o, e]
                            elif o > k:
                                ok = ok and yk[e] >= yb[o, e]
                        rb[e] += ok
                        cb[e] += 1
            else:
                for e in range(members):
                    k = tb[e]
                    if mb[e] != 0:
                        lb[e] += total[e] + top[e] - yb[k, e]
                    if kb[e] != 0:
                        ok = True
                        for o in range(n_out):
                            if o < k:
                                ok = ok and yb[k, e] > yb[o, e]
                            elif o > k:
                                ok = ok and yb[k, e] >= yb[o, e]
                        rb[e] += ok
                        cb[e] += 1
    return -1


# ---- Elman's one-step scheme with SGD, a whole sequence in one call (training/numba_elman.py)
@nb.njit(**_INLINE)
def _sgd_candidate(p, g, buf, lr, mom, wd, scale, new_p, new_buf):
    """new_buf = mom*buf + (scale*g + wd*p), new_p = p - lr*new_buf (1-D); whether all finite."""
    ok = True
    for i in range(p.size):
        nb_ = mom * buf[i] + (g[i] * scale + wd * p[i])
        np_ = p[i] - lr * nb_
        new_buf[i] = nb_
        new_p[i] = np_
        ok = ok and math.isfinite(new_p[i])
    return ok


@nb.njit(**_INLINE)
def _sum_squares(g):
    s = 0.0
    for i in range(g.size):
        s += g[i] * g[i]
    return s


@nb.njit(**_INLINE)
def _all_finite(g):
    for i in range(g.size):
        if not math.isfinite(g[i]):
            return False
    return True


@nb.njit(**_JIT)
def elman_sgd_kernel(x, target, mask, norm, h, u, b, w, v, c, bu, bb, bw, bv, bc,
                     lr, mom, wd, clip, act, out_tanh, use_ce, live, diverged, total, commits):
    """Elman (1990) training of a plain SRN: a weight update after every symbol, the gradient
    cut at the context (one step back), SGD with momentum, weight decay and per-member
    clipping exactly as ``training.optim.MemberOptimizer`` - ``BPTT(mode="elman",
    optimizer="sgd")`` for every step of a minibatch in one call.

    x [Ex,B,T,I]; target [Et,B,T] int64; mask [Et,B,T] uint8; norm [En,B] (each row's loss
    divisor; Ex, Et, En = E or 1); h [E,B,H] the state, advanced in place; u [E,H,I], b [E,H],
    w [E,H,H], v [E,O,H], c [E,O] and their momentum buffers, updated in place; lr, mom [E];
    act: hidden activation code; out_tanh: the squashing of "sse" is tanh (else sigmoid);
    use_ce: softmax cross-entropy (else squared error).  live, diverged [E] uint8 in/out;
    total [E] += each step's member loss; commits [E] += updates made.
    """
    E, B, H = h.shape
    T, I, O = x.shape[2], x.shape[3], c.shape[1]
    dt = u.dtype
    grads = np.empty(H * I + H + H * H + O * H + O, dt)     # one block: zeroed in one loop
    fu, fb = grads[:H * I], grads[H * I:H * I + H]
    fw = grads[H * I + H:H * I + H + H * H]
    fv = grads[H * I + H + H * H:H * I + H + H * H + O * H]
    fc = grads[H * I + H + H * H + O * H:]
    gu, gw, gv = fu.reshape((H, I)), fw.reshape((H, H)), fv.reshape((O, H))
    gb, gc = fb, fc
    nu, nb_, nw, nv, nc = (np.empty(H * I, dt), np.empty(H, dt), np.empty(H * H, dt),
                           np.empty(O * H, dt), np.empty(O, dt))
    mu, mb, mw, mv, mc = (np.empty(H * I, dt), np.empty(H, dt), np.empty(H * H, dt),
                          np.empty(O * H, dt), np.empty(O, dt))
    hn = np.empty((B, H), dt)
    y, dy, dpre = np.empty(O, dt), np.empty(O, dt), np.empty(H, dt)
    for e in range(E):
        xe = x[e if x.shape[0] > 1 else 0]
        te = target[e if target.shape[0] > 1 else 0]
        me = mask[e if mask.shape[0] > 1 else 0]
        ne = norm[e if norm.shape[0] > 1 else 0]
        ue, be, we, ve, ce = u[e], b[e], w[e], v[e], c[e]
        pu, pb, pw, pv, pc = ue.reshape(H * I), be, we.reshape(H * H), ve.reshape(O * H), ce
        qu, qb, qw, qv, qc = (bu[e].reshape(H * I), bb[e], bw[e].reshape(H * H),
                              bv[e].reshape(O * H), bc[e])
        lr_e, mom_e = lr[e], mom[e]
        for t in range(T):
            zero_block(grads)
            loss = 0.0
            has = False
            for r in range(B):
                hp, hr, xr = h[e, r], hn[r], xe[r, t]
                for j in range(H):
                    s = be[j]
                    for i in range(I):
                        s += ue[j, i] * xr[i]
                    for k in range(H):
                        s += we[j, k] * hp[k]
                    if act == TANH:
                        hr[j] = math.tanh(s)
                    elif act == SIGMOID:
                        hr[j] = 1.0 / (1.0 + math.exp(-s))
                    else:
                        hr[j] = max(s, 0.0)
                if me[r, t] == 0:
                    continue
                has = True
                for o in range(O):
                    s = ce[o]
                    for j in range(H):
                        s += ve[o, j] * hr[j]
                    y[o] = s
                k = te[r, t]
                scale = 1.0 / (ne[r] * B)
                per = 0.0
                if use_ce:
                    top = y[0]
                    for o in range(1, O):
                        top = max(top, y[o])
                    z = 0.0
                    for o in range(O):
                        z += math.exp(y[o] - top)
                    per = math.log(z) + top - y[k]
                    for o in range(O):
                        dy[o] = (math.exp(y[o] - top) / z - (1.0 if o == k else 0.0)) * scale
                else:
                    for o in range(O):
                        if out_tanh:
                            out = math.tanh(y[o])
                            d = out - (1.0 if o == k else -1.0)
                            dy[o] = d * (1.0 - out * out) * scale
                        else:
                            out = 1.0 / (1.0 + math.exp(-y[o]))
                            d = out - (1.0 if o == k else 0.0)
                            dy[o] = d * (out * (1.0 - out)) * scale
                        per += 0.5 * d * d
                loss += per / ne[r]
                for o in range(O):
                    gc[o] += dy[o]
                    for j in range(H):
                        gv[o, j] += dy[o] * hr[j]
                for j in range(H):
                    dh = 0.0
                    for o in range(O):
                        dh += ve[o, j] * dy[o]
                    if act == TANH:
                        dpre[j] = dh * (1.0 - hr[j] * hr[j])
                    elif act == SIGMOID:
                        dpre[j] = dh * (hr[j] * (1.0 - hr[j]))
                    else:
                        dpre[j] = dh if hr[j] > 0 else 0.0
                for j in range(H):
                    gb[j] += dpre[j]
                    for i in range(I):
                        gu[j, i] += dpre[j] * xr[i]
                    for k2 in range(H):
                        gw[j, k2] += dpre[j] * hp[k2]
            loss = loss / B
            total[e] += loss
            if live[e] != 0 and has:
                if not (math.isfinite(loss) and _all_finite(grads)):
                    diverged[e] = 1
                    live[e] = 0
                else:
                    sc = 1.0
                    if clip > 0:
                        sc = min(clip / (math.sqrt(_sum_squares(grads)) + 1e-6), 1.0)
                    ok = _sgd_candidate(pu, fu, qu, lr_e, mom_e, wd, sc, nu, mu)
                    ok = _sgd_candidate(pb, fb, qb, lr_e, mom_e, wd, sc, nb_, mb) and ok
                    ok = _sgd_candidate(pw, fw, qw, lr_e, mom_e, wd, sc, nw, mw) and ok
                    ok = _sgd_candidate(pv, fv, qv, lr_e, mom_e, wd, sc, nv, mv) and ok
                    ok = _sgd_candidate(pc, fc, qc, lr_e, mom_e, wd, sc, nc, mc) and ok
                    if ok:
                        copy_block(pu, nu)
                        copy_block(pb, nb_)
                        copy_block(pw, nw)
                        copy_block(pv, nv)
                        copy_block(pc, nc)
                        copy_block(qu, mu)
                        copy_block(qb, mb)
                        copy_block(qw, mw)
                        copy_block(qv, mv)
                        copy_block(qc, mc)
                        commits[e] += 1
                    else:
                        diverged[e] = 1
                        live[e] = 0
            for r in range(B):
                for j in range(H):
                    h[e, r, j] = hn[r, j]


# ---- GRU (models/numba_gru.py)
@nb.njit(**_JIT)
def gru_forward_kernel(x, wi, b, u, bhn, v, c, h0, keep, states, y, gates, hn):
    steps, batch = x.shape[:2]
    rows, members = b.shape
    n = rows // 3
    after = bhn.shape[0] > 0                       # reset_after: r * (U_n h + b_hn)
    prz = np.empty((batch, 2 * n, members), b.dtype)   # a_r, a_z, then r, z
    pn = np.empty((batch, n, members), b.dtype)        # a_n, then the candidate
    hh = np.empty((batch, rows, members), b.dtype)     # U h (reset_after)
    rh = np.empty((batch, n, members), b.dtype)        # r * h (reset before U_n)
    for t in range(steps):
        prev = h0 if t == 0 else states[t - 1]     # [B, H, E]
        live = keep[t]
        for bb in range(batch):                    # the input side: W x_t + b
            if live[bb]:
                affine_input(prz[bb], b[:2 * n], wi[:2 * n], x[t, bb])
                affine_input(pn[bb], b[2 * n:], wi[2 * n:], x[t, bb])
        if after:
            for bb in range(batch):
                if live[bb]:
                    zero_block(hh[bb])
            add_matvec_batch(hh, u, prev, live)
            for bb in range(batch):
                if live[bb]:
                    add_block(prz[bb], hh[bb, :2 * n])
        else:
            add_matvec_batch(prz, u[:2 * n], prev, live)
        for bb in range(batch):
            if live[bb]:
                activate_block(prz[bb].reshape(2 * n * members), SIGMOID)
                pr, ph, hb = prz[bb], prev[bb], hn[t, bb] if after else rh[bb]
                for j in range(n):
                    rj, hj, oj = pr[j], ph[j], hb[j]
                    if after:                      # hn_t = U_n h + b_hn, then a_n += r * hn_t
                        hhj, bj, aj = hh[bb, 2 * n + j], bhn[j], pn[bb, j]
                        for e in range(members):
                            oj[e] = hhj[e] + bj[e]
                            aj[e] += rj[e] * oj[e]
                    else:
                        for e in range(members):
                            oj[e] = rj[e] * hj[e]
        if not after:
            add_matvec_batch(pn, u[2 * n:], rh, live)   # a_n += U_n (r * h)
        for bb in range(batch):
            ph, sb = prev[bb], states[t, bb]
            if live[bb]:
                activate_block(pn[bb].reshape(n * members), TANH)
                g = gates[t, bb]
                copy_block(g[:2 * n], prz[bb])
                copy_block(g[2 * n:], pn[bb])
                for j in range(n):                 # h_t = (1 - z) h_{t-1} + z n
                    zj, nj, hj, oj = g[n + j], g[2 * n + j], ph[j], sb[j]
                    for e in range(members):
                        oj[e] = hj[e] + zj[e] * (nj[e] - hj[e])
            else:                                  # padded: the state is held
                copy_block(sb, ph)
            set_rows(y[t, bb], c)                  # y_t = V h_t + c
            add_matvec(y[t, bb], v, sb)


@nb.njit(**_JIT)
def gru_backward_kernel(x, wi, u, bhn, v, h0, keep, states, gates, hn, grad_y, grad_s, has_gy, has_gs,
                        gwi, gb, gu, gbhn, gv, gc, gh0, dpre):
    steps, batch = x.shape[:2]
    rows, members = gb.shape
    n = rows // 3
    after = bhn.shape[0] > 0
    whole = dpre.shape[0] == steps
    carry = np.zeros((batch, n, members), states.dtype)     # dL/dh_t from the steps after t
    drz = np.empty((batch, 2 * n, members), states.dtype)   # dL/da_r, dL/da_z
    dn = np.empty((batch, n, members), states.dtype)        # dL/da_n
    dhh = np.empty((batch, rows, members), states.dtype)    # reset_after: dL/d(U h)
    grh = np.empty((batch, n, members), states.dtype)       # reset before: dL/d(r * h)
    rh = np.empty((batch, n, members), states.dtype)
    for t in range(steps - 1, -1, -1):
        prev = h0 if t == 0 else states[t - 1]
        dp = dpre[t if whole else 0]
        live = keep[t]
        for bb in range(batch):
            sb, cb = states[t, bb], carry[bb]
            if has_gs:
                add_block(cb, grad_s[t, bb])
            if has_gy:
                add_block(gc, grad_y[t, bb])
                backprop_matvec(gv, cb, v, grad_y[t, bb], sb)
            if not live[bb]:    # held step: the gradient passes to h_{t-1} untouched
                zero_block(dp[bb])
                continue
            g, ph = gates[t, bb], prev[bb]
            for j in range(n):
                rj, zj, nj, hj, dh = g[j], g[n + j], g[2 * n + j], ph[j], cb[j]
                dzj, dnj = drz[bb, n + j], dn[bb, j]
                for e in range(members):
                    dnj[e] = dh[e] * zj[e] * (1 - nj[e] * nj[e])
                    dzj[e] = dh[e] * (nj[e] - hj[e]) * zj[e] * (1 - zj[e])
                    dh[e] = dh[e] * (1 - zj[e])      # the direct path to h_{t-1}
                if after:                            # a_n = p_n + r * hn_t
                    drj, hnj, gbj = drz[bb, j], hn[t, bb, j], gbhn[j]
                    dhn = dhh[bb, 2 * n + j]
                    for e in range(members):
                        drj[e] = dnj[e] * hnj[e] * rj[e] * (1 - rj[e])
                        dhn[e] = dnj[e] * rj[e]
                        gbj[e] += dhn[e]
                else:
                    rhj = rh[bb, j]
                    for e in range(members):
                        rhj[e] = rj[e] * hj[e]
            if not after:
                zero_block(grh[bb])
        if after:
            for bb in range(batch):
                if live[bb]:
                    copy_block(dhh[bb, :2 * n], drz[bb])
            backprop_matvec_batch(gu, carry, u, dhh, prev, live)   # dU += d h^T, dh += U^T d
        else:
            backprop_matvec_batch(gu[2 * n:], grh, u[2 * n:], dn, rh, live)
            for bb in range(batch):
                if not live[bb]:
                    continue
                g, ph, cb = gates[t, bb], prev[bb], carry[bb]
                for j in range(n):                   # r * h: to r and to h_{t-1}
                    rj, hj, gj, drj, dh = g[j], ph[j], grh[bb, j], drz[bb, j], cb[j]
                    for e in range(members):
                        drj[e] = gj[e] * hj[e] * rj[e] * (1 - rj[e])
                        dh[e] += gj[e] * rj[e]
            backprop_matvec_batch(gu[:2 * n], carry, u[:2 * n], drz, prev, live)
        for bb in range(batch):
            if live[bb]:
                db = dp[bb]
                copy_block(db[:2 * n], drz[bb])
                copy_block(db[2 * n:], dn[bb])
                add_block(gb, db)
                add_outer_input(gwi, db, x[t, bb])
    copy_block(gh0, carry)
