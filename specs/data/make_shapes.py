"""Write the `shapes` image folders of `specs/shapes.mdl`: small grayscale PNG drawings of
circles, squares and triangles, of random size, place and rotation, with a little noise.

    python specs/data/make_shapes.py [--out specs/data/shapes] [--train 60] [--test 20]

Seeded (numpy default_rng(0)): the same files every time; nothing is downloaded. Needs
Pillow (`pip install "minidl[images]"`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIDE = 16
"""Every image is SIDE x SIDE pixels."""

SHAPES = ("circle", "square", "triangle")


def draw(shape: str, rng: np.random.Generator) -> Image.Image:
    """One white shape on black, then noise; drawn 4 times larger and scaled down (smooth)."""
    scale = 4
    big = Image.new("L", (SIDE * scale, SIDE * scale), 0)
    pen = ImageDraw.Draw(big)
    radius = rng.uniform(3.5, 6.5) * scale
    cx, cy = (rng.uniform(radius, SIDE * scale - radius) for _ in range(2))
    turn = rng.uniform(0, 2 * math.pi)
    if shape == "circle":
        pen.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    else:
        corners = 4 if shape == "square" else 3
        points = [
            (
                cx + radius * math.cos(turn + 2 * math.pi * k / corners),
                cy + radius * math.sin(turn + 2 * math.pi * k / corners),
            )
            for k in range(corners)
        ]
        pen.polygon(points, fill=255)
    small = np.asarray(big.resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.float64)
    noisy = np.clip(small + rng.normal(0, 20, small.shape), 0, 255)
    return Image.fromarray(noisy.astype(np.uint8), mode="L")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "shapes")
    parser.add_argument("--train", type=int, default=150, help="images per class for training")
    parser.add_argument("--test", type=int, default=50, help="images per class for testing")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for part, count in (("train", args.train), ("test", args.test)):
        for shape in SHAPES:
            folder = args.out / part / shape
            folder.mkdir(parents=True, exist_ok=True)
            for number in range(count):
                draw(shape, rng).save(folder / f"{shape}_{number:03d}.png")
    print(f"wrote {len(SHAPES) * (args.train + args.test)} images under {args.out}")


if __name__ == "__main__":
    main()
