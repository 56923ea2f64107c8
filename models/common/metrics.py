"""Quality metrics shared by every model family. Plain numpy on arrays; the
perceptual ones take feature maps (from `features.feature_extractor`) so they
can be checked without a network.

Images are float RGB in [0, 1], shaped (H, W, 3) or (N, H, W, 3).
"""
from __future__ import annotations

import numpy as np


# ---- perceptual: Gram-matrix style distance and content distance -------------

def gram(feature: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, C, C), normalised by the number of positions so
    images of different sizes compare."""
    n, h, w, c = feature.shape
    f = feature.reshape(n, h * w, c).astype(np.float64)
    return np.einsum("npc,npd->ncd", f, f) / (h * w)


def style_distance(features: list[np.ndarray], style_grams: list[np.ndarray]) -> np.ndarray:
    """Per image: mean over layers of the mean squared difference between its
    Gram matrices and the style's (one (C, C) Gram per layer)."""
    per_layer = [np.mean((gram(f) - g[None]) ** 2, axis=(1, 2)) for f, g in zip(features, style_grams)]
    return np.mean(per_layer, axis=0)


def content_distance(features: list[np.ndarray], reference: list[np.ndarray]) -> np.ndarray:
    """Per image: mean over layers of the mean squared feature difference."""
    per_layer = [np.mean((a.astype(np.float64) - b) ** 2, axis=(1, 2, 3)) for a, b in zip(features, reference)]
    return np.mean(per_layer, axis=0)


# ---- pixels ------------------------------------------------------------------

def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def _gaussian_filter(x: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(x, (11, 11), sigma, borderType=cv2.BORDER_REFLECT)


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """Structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5,
    K1 0.01, K2 0.03) on luma."""
    def luma(x):
        x = np.asarray(x, np.float64)
        return x @ np.array([0.299, 0.587, 0.114]) if x.ndim == 3 else x

    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = _gaussian_filter(x), _gaussian_filter(y)
    vx = _gaussian_filter(x * x) - mx * mx
    vy = _gaussian_filter(y * y) - my * my
    cxy = _gaussian_filter(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def colourfulness(image: np.ndarray) -> float:
    """Hasler and Suesstrunk (2003) on the 0-255 scale: about 0 for grey, ~15
    for slightly colourful, over 100 for extremely colourful images."""
    x = np.asarray(image, np.float64) * 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


# ---- video: temporal error on synthetic camera moves, settle time ---------------

def camera_move(image: np.ndarray, frames: int, *, pan_px: float = 0.0, zoom: float = 1.0,
                size: int = 256) -> tuple[np.ndarray, list[np.ndarray]]:
    """A synthetic camera move over a photo: `frames` crops of `size` pixels,
    panning `pan_px` pixels right per frame and/or zooming by `zoom` per frame.
    Returns the frames (N, size, size, 3) float and, for each consecutive pair,
    the exact 2x3 affine map taking frame t's pixels to frame t+1's."""
    import cv2

    image = np.asarray(image, np.float32)
    if image.max() > 1.0:
        image = image / 255.0
    h, w = image.shape[:2]
    cx, cy, scale = w / 2.0, h / 2.0, min(h, w) / (1.6 * size)   # source pixels per output pixel
    out, maps = [], []
    previous = None
    for t in range(frames):
        s = scale / (zoom ** t)
        x0 = cx - size * s / 2 + t * pan_px * scale
        y0 = cy - size * s / 2
        m = np.array([[1 / s, 0, -x0 / s], [0, 1 / s, -y0 / s]])  # source -> output
        out.append(cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT))
        if previous is not None:
            # output_t -> source -> output_{t+1}
            inv_prev = cv2.invertAffineTransform(previous)
            maps.append(np.vstack([m, [0, 0, 1]])[:2] @ np.vstack([inv_prev, [0, 0, 1]]))
        previous = m
    return np.stack(out), maps


def temporal_error(outputs: np.ndarray, maps: list[np.ndarray], margin: int = 8) -> float:
    """Mean absolute difference between each output frame and the previous
    output warped by the known camera motion (what a flicker-free model would
    produce), inside the area both frames see."""
    import cv2

    n, h, w = outputs.shape[:3]
    errors = []
    for t in range(n - 1):
        warped = cv2.warpAffine(outputs[t].astype(np.float32), maps[t], (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=-1)
        valid = np.all(warped >= 0, axis=-1)
        valid[:margin] = valid[-margin:] = False
        valid[:, :margin] = valid[:, -margin:] = False
        if valid.any():
            errors.append(float(np.abs(outputs[t + 1][valid] - warped[valid]).mean()))
    return float(np.mean(errors)) if errors else float("nan")


def frames_to_settle(outputs: np.ndarray, cut_index: int, tolerance: float = 0.02) -> int:
    """After a cut at `cut_index` (the first frame of the new shot, held still),
    how many frames until the output stays within `tolerance` (mean absolute
    difference) of its final value. 0 means the first frame after the cut is
    already right."""
    final = outputs[-1].astype(np.float64)
    after = outputs[cut_index:]
    for k in range(len(after)):
        if all(np.abs(f - final).mean() <= tolerance for f in after[k:]):
            return k
    return len(after)


# ---- audio ---------------------------------------------------------------------

def f0_cents_error(estimated_hz: np.ndarray, reference_hz: np.ndarray) -> dict:
    """Over frames voiced in both: mean absolute error in cents, and the share
    of frames more than 50 cents off (gross errors: octave and fifth jumps)."""
    est, ref = np.asarray(estimated_hz, np.float64), np.asarray(reference_hz, np.float64)
    voiced = (est > 0) & (ref > 0)
    if not voiced.any():
        return {"cents_mean": float("nan"), "gross_error_share": float("nan"), "frames": 0}
    cents = 1200.0 * np.abs(np.log2(est[voiced] / ref[voiced]))
    return {"cents_mean": float(cents.mean()), "gross_error_share": float(np.mean(cents > 50.0)),
            "frames": int(voiced.sum())}


def loudness_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two loudness curves (dB per frame)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def multiscale_spectral_distance(a: np.ndarray, b: np.ndarray,
                                 fft_sizes=(2048, 1024, 512, 256, 128, 64)) -> float:
    """DDSP's multi-scale spectral loss: over several FFT sizes, the mean L1
    distance of the magnitude spectrograms plus that of their logs."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    total = 0.0
    for n in fft_sizes:
        hop = n // 4
        sa, sb = _stft_magnitude(a, n, hop), _stft_magnitude(b, n, hop)
        total += np.abs(sa - sb).mean() + np.abs(np.log(sa + 1e-7) - np.log(sb + 1e-7)).mean()
    return float(total)


def log_mel_distance(a: np.ndarray, b: np.ndarray, rate: int, n: int = 1024, bands: int = 64) -> float:
    """Mean absolute difference of log mel-band energies (1024-sample frames,
    hop 256): the spectral envelope over time. Unlike the per-bin spectral
    distance, two renderings of noise with the same spectrum score near 0 here."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    fb = mel_filterbank(rate, n, bands)
    ma = fb @ (_stft_magnitude(a, n, n // 4) ** 2).T
    mb = fb @ (_stft_magnitude(b, n, n // 4) ** 2).T
    frames = min(ma.shape[1], mb.shape[1])
    return float(np.abs(np.log(ma[:, :frames] + 1e-8) - np.log(mb[:, :frames] + 1e-8)).mean())


def mel_filterbank(rate: int, n: int, bands: int) -> np.ndarray:
    """Triangular filters evenly spaced on the mel scale from 0 to Nyquist, (bands, n // 2 + 1)."""
    def mel(f):
        return 2595 * np.log10(1 + f / 700)
    edges = 700 * (10 ** (np.linspace(0, mel(rate / 2), bands + 2) / 2595) - 1)
    bins = np.fft.rfftfreq(n, 1 / rate)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - low) / np.maximum(centre - low, 1e-9)
    falling = (high - bins[None]) / np.maximum(high - centre, 1e-9)
    return np.maximum(0, np.minimum(rising, falling))


def _stft_magnitude(x: np.ndarray, n: int, hop: int) -> np.ndarray:
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop]
    return np.abs(np.fft.rfft(frames * np.hanning(n), axis=-1))


def bits_per_sample(probabilities_of_truth: np.ndarray) -> float:
    """Negative log-likelihood in bits per sample, from the probability the
    model gave to each sample that actually came."""
    p = np.clip(np.asarray(probabilities_of_truth, np.float64), 1e-12, 1.0)
    return float(-np.mean(np.log2(p)))
