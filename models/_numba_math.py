"""Elementwise functions and row-block linear algebra for the compiled kernels.

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
(3e-8); about 700-800M elements/s on one core against 35M/s for a libm
``tanh`` per element (benchmarked while writing this module).

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


@nb.njit(inline="always")
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


@nb.njit(inline="always")
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


@nb.njit(inline="always")
def tanh32(x):
    e = exp32(_F(-2.0) * abs(x))
    return math.copysign((_ONE - e) / (_ONE + e), x)


@nb.njit(inline="always")
def sigmoid32(x):
    return _ONE / (_ONE + exp32(-x))


@nb.njit(inline="always")
def exp_block(a):
    """a[:] = exp(a) in place (1-D contiguous)."""
    if a.itemsize == 8:  # float64
        for i in range(a.size):
            a[i] = math.exp(a[i])
    else:
        for i in range(a.size):
            a[i] = exp32(a[i])


@nb.njit(inline="always")
def log_block(a):
    """a[:] = log(a) in place (1-D contiguous, a > 0)."""
    if a.itemsize == 8:
        for i in range(a.size):
            a[i] = math.log(a[i])
    else:
        for i in range(a.size):
            a[i] = log32(a[i])


@nb.njit(inline="always")
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


@nb.njit(inline="always")
def derivative(h, act):
    """f'(pre) from the activation's output h = f(pre)."""
    if act == TANH:
        return _ONE - h * h
    if act == SIGMOID:
        return h * (_ONE - h)
    return _ONE if h > 0 else _F(0.0)


# ---- row-block linear algebra: every array's last axis is the member axis E, and every
# ---- loop below runs along it (contiguous), so LLVM vectorises each one.
@nb.njit(inline="always")
def set_rows(out, bias):
    """out[r, :] = bias[r, :]."""
    for r in range(out.shape[0]):
        o, b = out[r], bias[r]
        for e in range(o.size):
            o[e] = b[e]


@nb.njit(inline="always")
def add_matvec(out, w, v):
    """out[r, :] += sum_k w[r, k, :] * v[k, :]  (each member's matrix times its vector)."""
    for r in range(out.shape[0]):
        o = out[r]
        for k in range(v.shape[0]):
            wrk, vk = w[r, k], v[k]
            for e in range(o.size):
                o[e] += wrk[e] * vk[e]


@nb.njit(inline="always")
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


@nb.njit(inline="always")
def add_input(out, w, x):
    """out[r, :] += sum_i w[r, i, :] * x[i, :] for inputs x [I, E], or x [I, 1] shared by all
    members (zeros skipped: one-hot symbols cost one column)."""
    for r in range(out.shape[0]):
        o = out[r]
        for i in range(x.shape[0]):
            wri = w[r, i]
            if x.shape[1] == 1:
                xi = x[i, 0]
                if xi != 0:
                    for e in range(o.size):
                        o[e] += wri[e] * xi
            else:
                xe = x[i]
                for e in range(o.size):
                    o[e] += wri[e] * xe[e]


@nb.njit(inline="always")
def add_outer_input(g, d, x):
    """g[r, i, :] += d[r, :] * x[i, :], x as in :func:`add_input`."""
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
# ---- U alone is 4H*H*E*4 bytes = 1.6 MB, beyond the core's L2).
@nb.njit(inline="always")
def add_matvec_batch(out, w, v):
    """out[b, r, :] += sum_k w[r, k, :] * v[b, k, :]."""
    for r in range(w.shape[0]):
        for k in range(w.shape[1]):
            wrk = w[r, k]
            for b in range(out.shape[0]):
                o, vk = out[b, r], v[b, k]
                for e in range(o.size):
                    o[e] += wrk[e] * vk[e]


@nb.njit(inline="always")
def backprop_matvec_batch(gw, dv, w, d, v):
    """The backward of :func:`add_matvec_batch` for the gradient d [B, R, E] at ``out``:
    gw[r, k, :] += sum_b d[b, r, :] * v[b, k, :]  and  dv[b, k, :] += w[r, k, :] * d[b, r, :]."""
    for r in range(w.shape[0]):
        for k in range(w.shape[1]):
            wrk, gwrk = w[r, k], gw[r, k]
            for b in range(d.shape[0]):
                dr, vk, dvk = d[b, r], v[b, k], dv[b, k]
                for e in range(dr.size):
                    gwrk[e] += dr[e] * vk[e]
                    dvk[e] += wrk[e] * dr[e]
