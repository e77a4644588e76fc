"""Draw data/brain_icon.png: the project's own 96 x 96 picture of a brain (side view), used by encoding_viz.py.

A lit, shaded cerebrum with dark sulci, the cerebellum and the brain stem on a black background, so the
picture holds the whole range of intensities a spike encoder has to represent, zero included. Drawn at 4x
and shrunk with a Lanczos filter for smooth edges.

    python data/make_brain_icon.py [--out data/brain_icon.png] [--size 96]
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SCALE = 4                                       # supersampling factor
BACKGROUND = np.array([0, 0, 0], float)        # black: intensity 0, a silent input neuron
TISSUE = np.array([246, 170, 180], float)      # pink
SULCUS = (120, 50, 70)


def _mask(shapes, size):
    """A 0/1 mask of the union of ellipses ((cx, cy, rx, ry) in 96-pixel units) and polygons."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    for shape in shapes:
        if not isinstance(shape[0], tuple):
            cx, cy, rx, ry = (v * SCALE for v in shape)
            draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
        else:
            draw.polygon([(x * SCALE, y * SCALE) for x, y in shape], fill=255)
    return np.asarray(mask, float) / 255.0


def _shading(size, light=(28, 18)):
    """Brightness from 1.0 at the light spot down to 0.3 far from it."""
    y, x = np.mgrid[0:size, 0:size] / SCALE
    dist = np.hypot(x - light[0], y - light[1])
    return 1.0 - 0.7 * (dist / dist.max()) ** 0.8


def _smooth(points, per_segment=12):
    """Catmull-Rom curve through ``points`` (96-pixel units), returned in supersampled pixels."""
    p = np.array([points[0], *points, points[-1]], float)
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    curve = [0.5 * (2 * p[i] + (p[i + 1] - p[i - 1]) * t + (2 * p[i - 1] - 5 * p[i] + 4 * p[i + 1] - p[i + 2]) * t**2
                    + (3 * p[i] - p[i - 1] - 3 * p[i + 1] + p[i + 2]) * t**3) for i in range(1, len(p) - 2)]
    return [tuple(xy * SCALE) for xy in np.vstack([*curve, p[-2][None]])]


def draw_brain(size=96) -> Image.Image:
    big = size * SCALE
    cerebrum = _mask([(46, 40, 36, 26), (22, 46, 19, 19), (70, 42, 20, 20), (46, 57, 27, 12)], big)
    cerebellum = _mask([(71, 66, 14, 9)], big) * (1 - cerebrum)
    stem = _mask([((53, 60), (63, 60), (62, 90), (55, 90))], big) * (1 - cerebrum) * (1 - cerebellum)
    shade = _shading(big)
    tissue = np.clip(cerebrum * shade + 0.75 * cerebellum * shade + 0.6 * stem, 0, 1)[..., None]
    rgb = BACKGROUND + tissue * (TISSUE - BACKGROUND)
    image = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    width = int(2.2 * SCALE)
    sulci = [  # (x, y) polylines in 96-pixel units: lateral fissure, central sulcus, gyri folds
        [(24, 58), (36, 52), (50, 51), (62, 47), (74, 49)],
        [(52, 16), (47, 25), (51, 33), (46, 41), (49, 48)],
        [(34, 20), (38, 28), (33, 36), (39, 44)],
        [(16, 34), (25, 38), (21, 46)],
        [(64, 20), (61, 29), (67, 35), (63, 42)],
        [(79, 27), (80, 36), (75, 41), (84, 47)],
        [(33, 62), (46, 60), (60, 59)],
    ]
    for line in sulci:
        draw.line(_smooth(line), fill=SULCUS, width=width, joint="curve")
    for k in range(3):                                               # cerebellar folia
        y = (62 + 4 * k) * SCALE
        draw.arc((60 * SCALE, y - 6 * SCALE, 84 * SCALE, y + 6 * SCALE), 20, 160, fill=SULCUS, width=SCALE)
    outside = (cerebrum + cerebellum + stem) < 0.5
    pixels = np.asarray(image).copy()
    pixels[outside] = BACKGROUND.astype(np.uint8)
    return Image.fromarray(pixels).resize((size, size), Image.Resampling.LANCZOS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("brain_icon.png")))
    parser.add_argument("--size", type=int, default=96, help="width and height in pixels (default 96)")
    args = parser.parse_args()
    draw_brain(args.size).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
