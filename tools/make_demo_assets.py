#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# make_demo_assets.py: the bundled observation of `vlart demo`: two 256x256 RGB PNGs in
# LIBERO's camera layout (an agent view of a table top and a wrist view), drawn
# procedurally so the repository carries no third-party images.
#
#   /work/pyref/bin/python tools/make_demo_assets.py   # writes assets/demo/*.png
#
# Deterministic: the same Pillow version writes the same bytes.
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "assets" / "demo"


def table_scene(size: int, zoom: float) -> Image.Image:
    img = Image.new("RGB", (size, size))
    d = ImageDraw.Draw(img)
    # Wall gradient, then a wooden table top.
    for y in range(size):
        shade = int(170 + 60 * y / size)
        d.line([(0, y), (size, y)], fill=(shade, shade - 10, shade - 25))
    horizon = int(size * (0.42 - 0.25 * (zoom - 1.0)))
    for y in range(horizon, size):
        t = (y - horizon) / max(1, size - horizon)
        d.line([(0, y), (size, y)], fill=(int(140 + 50 * t), int(95 + 35 * t), int(60 + 20 * t)))
    c = size / 2

    def ellipse(cx, cy, rx, ry, fill, outline=None):
        cx, cy = c + (cx - c) * zoom, c + (cy - c) * zoom
        rx, ry = rx * zoom, ry * zoom
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=fill, outline=outline, width=2)

    ellipse(90, 170, 42, 16, (235, 235, 240), (160, 160, 170))   # plate
    ellipse(170, 160, 26, 12, (30, 30, 35))                       # black bowl rim
    ellipse(170, 166, 20, 8, (60, 60, 70))                        # bowl inside
    d.rectangle([c + (40 - c) * zoom, c + (120 - c) * zoom, c + (70 - c) * zoom,
                 c + (150 - c) * zoom], fill=(200, 40, 40))       # red box
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    agent = table_scene(256, 1.0)
    wrist = table_scene(256, 1.8)
    agent.save(OUT / "agentview.png", optimize=True)
    wrist.save(OUT / "wrist.png", optimize=True)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
