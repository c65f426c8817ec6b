"""Moves in latent space: interpolation (linear, spherical) and variations ("tweak")."""
from __future__ import annotations

import numpy as np


def lerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """`steps` points (steps, zdim) on the straight line from a to b, ends included."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return ((1 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """`steps` points on the great-circle arc from a to b, with norms interpolated linearly.

    Under a Gaussian prior most mass lies near a sphere; a straight line between two
    codes cuts through the low-norm interior, the arc stays where loops are typical.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-9 or nb < 1e-9:
        return lerp(a, b, steps)
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if omega < 1e-6:
        return lerp(a, b, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    return (direction * ((1 - t) * na + t * nb)).astype(np.float32)


def vary(z: np.ndarray, n: int, amount: float, latent_std: np.ndarray,
         rng: np.random.Generator | int | None = None) -> np.ndarray:
    """`n` codes near `z`: Gaussian steps of `amount` prior standard deviations per dimension."""
    rng = np.random.default_rng(rng)
    step = rng.standard_normal((n, len(z))) * amount * np.asarray(latent_std)
    return (np.asarray(z)[None] + step).astype(np.float32)


def axis_sweep(zdim: int, dim: int = 0, low: float = -3.0, high: float = 3.0,
               steps: int = 7) -> np.ndarray:
    """Codes from `low` to `high` along one latent axis, all other coordinates 0 (paper Fig. 7)."""
    z = np.zeros((steps, zdim), dtype=np.float32)
    z[:, dim] = np.linspace(low, high, steps)
    return z
