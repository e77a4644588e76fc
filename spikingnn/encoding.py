"""Spike encoders: turning numbers and pictures into spike trains, and decoders that turn them back.

Three codes, each vectorised over arrays of any shape and returning time-first boolean spike arrays
``(num_steps, *shape)``:

- **rate** (Bernoulli/Poisson): at every step a neuron fires with probability p = x * max_rate * dt;
  information lives in the spike *count*. Decoded from counts.
- **latency** (time-to-first-spike): each neuron fires at most once, brighter inputs earlier; information lives
  in the spike *time*. Decoded by inverting the time formula.
- **population**: a value is spread over N neurons with Gaussian tuning curves, each rate-coding its own
  response. Decoded by maximum likelihood.

Pictures enter through :func:`load_grayscale` (any file pillow reads, a PIL image or an array, to a grayscale
float array in [0, 1]) and :func:`image_to_spikes`. Time in ms, rates in Hz. Randomness only through an
explicit ``rng`` (a seed or a ``numpy.random.Generator``): the same seed gives the same spikes.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from spikingnn._validation import as_rng, check_choice, check_finite, check_in_range, check_positive

LATENCY_METHODS = ("linear", "log")
IMAGE_METHODS = ("rate", "latency")


def _check_count(name: str, value, minimum: int = 1) -> int:
    """Require an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _spike_probability(max_rate, dt) -> float:
    """Probability of a spike in one step at the full rate: max_rate [Hz] * dt [ms] / 1000."""
    max_rate = float(check_in_range("max_rate", max_rate, 0.0, np.inf))
    return max_rate * float(check_positive("dt", dt, "ms")) / 1000.0


# ----------------------------------------------------------------------------------------------- rate code
def rate_encode(intensity, num_steps: int, max_rate: float = 1000.0, dt: float = 1.0, rng=None) -> np.ndarray:
    """Rate (Bernoulli) code: at each of ``num_steps`` steps, independently,

        s[t] ~ Bernoulli(p),   p = clip(x * max_rate * dt / 1000, 0, 1)      (max_rate in Hz, dt in ms)

    the discrete-time form of a Poisson process of rate x * max_rate. The defaults (1000 Hz, 1 ms) give
    p = x, as snnTorch's ``spikegen.rate``. ``intensity`` x: array of any shape, values in [0, 1].
    Returns a bool array of shape ``(num_steps, *x.shape)``; the expected count is num_steps * p.
    """
    x = check_in_range("intensity", intensity, 0.0, 1.0)
    num_steps = _check_count("num_steps", num_steps)
    p = np.clip(x * _spike_probability(max_rate, dt), 0.0, 1.0).astype(np.float32)
    # u < p with u uniform on [0, 1) fires with probability p exactly (p = 0: never, p = 1: always).
    return as_rng(rng).random((num_steps, *x.shape), dtype=np.float32) < p


def decode_rate(spikes, max_rate: float = 1000.0, dt: float = 1.0) -> np.ndarray:
    """Invert :func:`rate_encode` from spike counts: x_hat = clip(n / (T p_max), 0, 1), p_max = max_rate dt / 1000.

    n is the count of each neuron over the T = ``spikes.shape[0]`` steps; n / T estimates p without bias
    (binomial standard error sqrt(p (1 - p) / T)).
    """
    spikes = np.asarray(spikes)
    if spikes.ndim < 1 or spikes.shape[0] < 1:
        raise ValueError(f"spikes must have a time axis of length >= 1; got shape {spikes.shape}")
    p_max = _spike_probability(max_rate, dt)
    if p_max == 0.0:
        raise ValueError(f"max_rate * dt must be > 0 to decode a rate; got max_rate={max_rate!r}, dt={dt!r}")
    return np.clip(spikes.mean(axis=0) / min(p_max, 1.0), 0.0, 1.0)


# -------------------------------------------------------------------------------------------- latency code
def _latency_tau(method: str, tau, num_steps: int, dt: float) -> float:
    """tau in ms; ``None`` picks the tau that fits the code into the window of num_steps steps."""
    if tau is not None:
        return float(check_positive("tau", tau, "ms"))
    if num_steps < 2:
        raise ValueError(f"num_steps must be >= 2 for a latency code with the default tau; got {num_steps!r}")
    window = (num_steps - 1) * dt
    return window if method == "linear" else window / np.log(2.0)


def _check_latency_args(method, threshold, dt):
    check_choice("method", method, LATENCY_METHODS)
    check_in_range("threshold", threshold, 0.0, 1.0)
    if method == "log" and not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1) for the 'log' latency code; got {threshold!r}")
    return float(threshold), float(check_positive("dt", dt, "ms"))


def latency_encode(intensity, num_steps: int, method: str = "linear", tau: float | None = None,
                   threshold: float = 0.01, dt: float = 1.0) -> np.ndarray:
    """Latency (time-to-first-spike) code: each input fires once, brighter earlier; x <= threshold never fires.

    The spike time t (ms) of an intensity x in [0, 1]:

        linear:  t = tau (1 - x)                                      default tau = (T - 1) dt
        log:     t = tau ln(x / (x - threshold)),  x > threshold      default tau = (T - 1) dt / ln 2

    The log code is the time an RC circuit (membrane time constant tau, rest 0) driven by the constant input
    x takes to charge up to ``threshold``: x (1 - exp(-t / tau)) = threshold, as in snnTorch's latency code.
    The default tau normalises each code to the window of T = ``num_steps`` steps: linear maps x = 1 to step
    0 and x = 0 to step T - 1; log maps x = 2 threshold to step T - 1 (dimmer inputs would fire after the
    window and stay silent) and bright inputs to the first steps (t ~ tau threshold / x for x >> threshold).
    The spike is placed at step k = round(t / dt); t beyond the window gives no spike. Deterministic.
    Returns a bool array of shape ``(num_steps, *x.shape)`` with at most one True along time.
    """
    x = check_in_range("intensity", intensity, 0.0, 1.0)
    num_steps = _check_count("num_steps", num_steps)
    threshold, dt = _check_latency_args(method, threshold, dt)
    tau = _latency_tau(method, tau, num_steps, dt)
    fires = x > threshold
    # ln(x / (x - threshold)) written as -ln(1 - threshold / x): monotone in x and accurate for x >> threshold
    t = tau * (1.0 - x) if method == "linear" else -tau * np.log1p(-threshold / np.where(fires, x, 1.0))
    step = np.rint(t / dt)
    fires &= step <= num_steps - 1
    spikes = np.zeros((num_steps, x.size), dtype=bool)
    spikes[step.ravel()[fires.ravel()].astype(np.intp), np.flatnonzero(fires)] = True
    return spikes.reshape(num_steps, *x.shape)


def first_spike_steps(spikes) -> np.ndarray:
    """Index of each neuron's first spike along the time axis (axis 0), or -1 if it never fires."""
    spikes = np.asarray(spikes, dtype=bool)
    if spikes.ndim < 1 or spikes.shape[0] < 1:
        raise ValueError(f"spikes must have a time axis of length >= 1; got shape {spikes.shape}")
    return np.where(spikes.any(axis=0), spikes.argmax(axis=0), -1)


def decode_latency(spikes, method: str = "linear", tau: float | None = None, threshold: float = 0.01,
                   dt: float = 1.0) -> np.ndarray:
    """Invert :func:`latency_encode` (same arguments) from first-spike times t = k dt:

        linear:  x_hat = 1 - t / tau
        log:     x_hat = threshold / (1 - exp(-t / tau))

    clipped to [0, 1]; a neuron that never fires decodes to 0. Quantising t to whole steps is the only loss:
    the spike time of x_hat is within dt / 2 of that of x.
    """
    spikes = np.asarray(spikes)
    k = first_spike_steps(spikes)
    threshold, dt = _check_latency_args(method, threshold, dt)
    tau = _latency_tau(method, tau, spikes.shape[0], dt)
    t = np.maximum(k, 0) * dt
    with np.errstate(divide="ignore"):
        x = 1.0 - t / tau if method == "linear" else threshold / -np.expm1(-t / tau)
    return np.where(k >= 0, np.clip(x, 0.0, 1.0), 0.0)


# ----------------------------------------------------------------------------------------- population code
def _tuning(value_range, n_neurons, sigma):
    """Preferred values c_j (evenly spaced over value_range, ends included) and the tuning width sigma."""
    _check_count("n_neurons", n_neurons, 2)
    lo, hi = (float(v) for v in check_finite("value_range", value_range))
    if not lo < hi:
        raise ValueError(f"value_range must be (lo, hi) with lo < hi; got {value_range!r}")
    centres = np.linspace(lo, hi, n_neurons)
    sigma = centres[1] - centres[0] if sigma is None else float(check_positive("sigma", sigma))
    return centres, sigma, (lo, hi)


def _tuning_curves(values, centres, sigma) -> np.ndarray:
    """f_j(v) = exp(-(v - c_j)^2 / (2 sigma^2)), shape (*values.shape, n_neurons)."""
    return np.exp(-0.5 * ((np.asarray(values)[..., None] - centres) / sigma) ** 2)


def population_encode(values, n_neurons: int, value_range=(0.0, 1.0), sigma: float | None = None,
                      max_rate: float = 1000.0, dt: float = 1.0, num_steps: int = 50, rng=None) -> np.ndarray:
    """Population code: each value v is seen by ``n_neurons`` neurons with Gaussian tuning curves

        f_j(v) = exp(-(v - c_j)^2 / (2 sigma^2)),   c_j = lo + j (hi - lo) / (N - 1),   j = 0 .. N - 1

    (default sigma = the spacing (hi - lo) / (N - 1)), and neuron j rate-codes f_j(v): it fires at each step
    with probability f_j(v) * max_rate * dt / 1000 (see :func:`rate_encode`). ``values`` in
    ``value_range``, any shape. Returns bool spikes of shape ``(num_steps, *values.shape, n_neurons)``.
    """
    centres, sigma, (lo, hi) = _tuning(value_range, n_neurons, sigma)
    values = check_in_range("values", values, lo, hi)
    return rate_encode(_tuning_curves(values, centres, sigma), num_steps, max_rate, dt, rng)


def population_decode(spikes, value_range=(0.0, 1.0), sigma: float | None = None, max_rate: float = 1000.0,
                      dt: float = 1.0, resolution: int = 2001) -> np.ndarray:
    """Maximum-likelihood estimate of the values behind :func:`population_encode` spikes (same arguments).

    Neuron j fired n_j times in T steps, each step a Bernoulli trial of probability p_j(v) = f_j(v) p_max, so

        log L(v) = sum_j [ n_j ln p_j(v) + (T - n_j) ln(1 - p_j(v)) ]

    and v_hat = argmax_v log L(v), searched on ``resolution`` evenly spaced values of value_range (p clipped
    to [1e-6, 1 - 1e-6] so saturated neurons stay finite). Unlike the centroid sum_j n_j c_j / sum_j n_j it
    has no bias toward the middle at the ends of the range (Dayan & Abbott, Theoretical Neuroscience, 3.3).
    ``spikes``: (T, ..., n_neurons); returns shape ``spikes.shape[1:-1]``.
    """
    spikes = np.asarray(spikes)
    if spikes.ndim < 2:
        raise ValueError(f"spikes must have shape (T, ..., n_neurons); got shape {spikes.shape}")
    centres, sigma, (lo, hi) = _tuning(value_range, spikes.shape[-1], sigma)
    grid = np.linspace(lo, hi, _check_count("resolution", resolution, 2))
    p = np.clip(_tuning_curves(grid, centres, sigma) * _spike_probability(max_rate, dt), 1e-6, 1.0 - 1e-6)
    counts = spikes.sum(axis=0, dtype=np.float64)
    log_likelihood = counts @ np.log(p).T + (spikes.shape[0] - counts) @ np.log1p(-p).T
    return grid[np.argmax(log_likelihood, axis=-1)]


# ---------------------------------------------------------------------------------------------- pictures
# Decoding costs ~8 bytes per pixel here (RGBA, then float32 grey): 64 megapixels (0.5 GB) is more than a phone
# camera's usual output and stays below pillow's own decompression-bomb warning (89.5 megapixels).
MAX_PIXELS = 64 * 1024 * 1024
SIXTEEN_BIT = 65535


def _check_pixel_count(img: Image.Image, name: str) -> None:
    """Refuse a picture larger than MAX_PIXELS from its header alone, before any pixel is decoded."""
    if img.width * img.height > MAX_PIXELS:
        raise ValueError(f"{name} is {img.width} x {img.height} = {img.width * img.height:,} pixels, more than "
                         f"the limit of {MAX_PIXELS:,} (spikingnn.encoding.MAX_PIXELS); refusing to decode it")


def _open_picture(path: Path) -> Image.Image:
    """Open a picture file lazily: pillow reads the header (format, size, mode) and decodes nothing yet."""
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a picture")
    try:
        with warnings.catch_warnings():
            # pillow warns above 89.5 megapixels; _check_pixel_count refuses those with a clearer message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such picture: {path}") from None
    except Image.DecompressionBombError:
        # pillow itself refuses, at open, a header claiming more than twice its limit
        raise ValueError(f"{path} claims more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels, far more than the limit "
                         f"of {MAX_PIXELS:,} (spikingnn.encoding.MAX_PIXELS); refusing to decode it") from None
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path} is not a picture pillow can read ({err})") from None


def _pil_to_gray(img: Image.Image, name: str) -> np.ndarray:
    """A PIL image as upright grey levels in [0, 1]; ``name`` says which picture in error messages.

    Each mode keeps its full depth: 16-bit grey ('I;16*', and 'I' as pillow reads 16-bit PNG and PGM) is
    divided by 65535, float grey ('F') must already lie in [0, 1]; every other mode (1, L, P, RGB, CMYK, ...)
    goes through pillow's 8-bit 'L' or, with transparency (RGBA, LA, PA, a palette's transparent colour),
    'RGBA', then :func:`_array_to_gray`.
    """
    _check_pixel_count(img, name)
    # Cameras store the sensor's orientation as an EXIF tag instead of rotating the pixels; applying it
    # makes a phone photo upright, as every picture viewer shows it.
    img = ImageOps.exif_transpose(img)
    if img.mode.startswith("I;16"):
        return _array_to_gray(np.asarray(img))
    if img.mode in ("I", "F"):
        values = np.asarray(img)
        top = SIXTEEN_BIT if img.mode == "I" else 1.0
        if not (values.min() >= 0 and values.max() <= top):        # written so that NaN fails too
            raise ValueError(f"{name}: its grey levels (pillow mode {img.mode}) must lie in 0..{top}; "
                             f"got {values.min()}..{values.max()}")
        return values.astype(np.float32) / np.float32(top)
    transparent = "A" in img.getbands() or "transparency" in img.info
    return _array_to_gray(np.asarray(img.convert("RGBA" if transparent else "L")))


def _array_to_gray(arr: np.ndarray) -> np.ndarray:
    """(h, w) or (h, w, 1|3|4) array to grey levels in [0, 1]: integers divided by their dtype's maximum,
    colour to luminance 0.299 R + 0.587 G + 0.114 B, an alpha channel a composited on white paper:
    grey = a L + (1 - a)."""
    arr = np.asarray(arr)
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))):
        raise ValueError(f"image array must have shape (h, w), (h, w, 1), (h, w, 3) or (h, w, 4); got {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        if info.min < 0 and arr.min() < 0:
            raise ValueError(f"image array must not hold negative values; got min {arr.min()}")
        arr = arr.astype(np.float32) / info.max
    else:
        arr = check_in_range("image", arr, 0.0, 1.0).astype(np.float32)
    if arr.ndim == 3:
        alpha = arr[..., 3] if arr.shape[2] == 4 else np.float32(1.0)
        luminance = arr[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32) if arr.shape[2] >= 3 else arr[..., 0]
        # a transparent background is the paper a drawing app shows it on: white, not black
        arr = alpha * luminance + (np.float32(1.0) - alpha)
    return arr


def load_grayscale(image, size: tuple[int, int] | None = None) -> np.ndarray:
    """Any picture -> grayscale float32 array in [0, 1], of shape ``size`` = (h, w) if given.

    ``image`` is a path (PNG, JPEG, BMP, GIF, TIFF, WebP, ... whatever pillow reads), a PIL image, or an array
    ((h, w) gray or (h, w, 3|4) RGB[A]; integers are divided by their dtype's maximum, floats must lie in
    [0, 1]). Colour becomes luminance 0.299 R + 0.587 G + 0.114 B; transparent pixels are composited on white
    paper; 16-bit pictures keep their 65536 levels; an EXIF orientation tag (phone photos) is applied.
    Resizing uses pillow's bilinear filter, which averages over the source pixels when shrinking.
    A file or PIL image of more than :data:`MAX_PIXELS` pixels is refused from its header, before decoding.
    Raises ``ValueError`` naming the file if pillow cannot read it or it is too large, ``FileNotFoundError``
    if it does not exist and ``IsADirectoryError`` if it is a folder.
    """
    if isinstance(image, (str, Path)):
        path = Path(image)
        with _open_picture(path) as img:
            try:
                gray = _pil_to_gray(img, str(path))
            except OSError as err:        # pillow decodes at the first pixel access: truncated or corrupt data
                raise ValueError(f"{path} is not a picture pillow can read ({err})") from None
    elif isinstance(image, Image.Image):
        gray = _pil_to_gray(image, "the image")
    else:
        gray = _array_to_gray(image)
    if size is not None:
        if np.ndim(size) != 1 or len(size) != 2:
            raise ValueError(f"size must be (height, width); got {size!r}")
        height, width = _check_count("size[0] (height)", size[0]), _check_count("size[1] (width)", size[1])
        resized = Image.fromarray(gray).resize((width, height), Image.Resampling.BILINEAR)
        gray = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    return gray


def image_to_spikes(image, size: tuple[int, int] | None = (28, 28), method: str = "rate", num_steps: int = 25,
                    rng=None, **kwargs) -> np.ndarray:
    """A picture (path, PIL image or array) -> :func:`load_grayscale` -> spikes of shape (num_steps, h, w).

    ``method`` 'rate' calls :func:`rate_encode` (random: ``rng``; kwargs ``max_rate``, ``dt``), 'latency'
    calls :func:`latency_encode` (deterministic; kwargs ``method`` is spelled ``latency_method`` here,
    ``tau``, ``threshold``, ``dt``). Bright pixels fire more (rate) or earlier (latency).
    """
    check_choice("method", method, IMAGE_METHODS)
    gray = load_grayscale(image, size)
    if method == "rate":
        return rate_encode(gray, num_steps, rng=rng, **kwargs)
    kwargs["method"] = kwargs.pop("latency_method", "linear")
    return latency_encode(gray, num_steps, **kwargs)
