#!/usr/bin/env python3
"""Draw the extension's icon (client-vscode/media/icon.png, 256x256) with Pillow.

A Keras-red rounded square, "K2" struck through beside a bold "K3" and an arrow between them:
Keras 2 code moved to Keras 3. Pillow is needed only to redraw it (`pip install pillow`).
"""
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def draw(out: Path, size: int = 256) -> None:
    s = 4  # draw at 4x, then downsample: smooth edges
    W = size * s
    img = Image.new("RGBA", (W, W), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([0, 0, W - 1, W - 1], radius=48 * s, fill=(208, 0, 0, 255))
    big = ImageFont.truetype(BOLD, 112 * s)
    small = ImageFont.truetype(BOLD, 54 * s)
    # "K2" small at top-left, struck through
    d.text((26 * s, 22 * s), "K2", font=small, fill=(255, 215, 205, 255))
    x0, y0, x1, y1 = d.textbbox((26 * s, 22 * s), "K2", font=small)
    d.line([x0 - 4 * s, (y0 + y1) // 2, x1 + 4 * s, (y0 + y1) // 2], fill=(255, 255, 255, 255), width=7 * s)
    # an arrow down-right
    d.line([150 * s, 50 * s, 196 * s, 50 * s], fill=(255, 255, 255, 255), width=10 * s)
    d.polygon([(196 * s, 32 * s), (226 * s, 50 * s), (196 * s, 68 * s)], fill=(255, 255, 255, 255))
    # "K3" big at the bottom
    bx0, by0, bx1, by1 = d.textbbox((0, 0), "K3", font=big)
    d.text(((W - (bx1 - bx0)) // 2 - bx0, 118 * s - by0), "K3", font=big, fill=(255, 255, 255, 255))
    img.resize((size, size), Image.LANCZOS).save(out, optimize=True)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "client-vscode/media/icon.png"
    draw(target)
    print(f"wrote {target}")
