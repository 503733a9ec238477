"""Poster images for the demo catalogue, drawn locally with Pillow (no network, no assets).

Each poster is a 1280×720 JPEG: a two-colour gradient in the category's palette, a motif
for the category, and the event's name in the font Pillow ships (Aileron).
"""

import functools
import io
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFont

POSTER_SIZE = (1280, 720)

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    top: RGB
    bottom: RGB
    accents: tuple[RGB, ...]
    text: RGB = (255, 255, 255)


PALETTES: dict[str, tuple[Palette, ...]] = {
    "concert": (
        Palette((38, 10, 82), (214, 38, 122), ((255, 196, 0), (0, 220, 255), (255, 90, 160))),
        Palette((8, 24, 68), (18, 140, 160), ((255, 120, 60), (250, 240, 120), (160, 255, 220))),
        Palette((12, 12, 24), (70, 20, 110), ((0, 255, 170), (255, 60, 120), (120, 140, 255))),
    ),
    "theatre": (
        Palette((60, 4, 16), (150, 22, 40), ((240, 196, 90), (255, 230, 170), (120, 10, 30))),
        Palette((20, 14, 30), (92, 36, 70), ((230, 180, 80), (255, 240, 200), (180, 60, 90))),
        Palette((18, 30, 60), (60, 20, 60), ((255, 215, 120), (255, 250, 230), (140, 30, 60))),
    ),
    "talk": (
        Palette((10, 34, 64), (22, 110, 130), ((120, 230, 210), (255, 255, 255), (90, 170, 255))),
        Palette((24, 40, 52), (64, 96, 120), ((250, 200, 90), (200, 235, 255), (120, 220, 180))),
        Palette((58, 28, 88), (30, 90, 140), ((255, 200, 120), (255, 255, 255), (140, 220, 255))),
    ),
    "workshop": (
        Palette((196, 84, 30), (246, 178, 92), ((255, 245, 225), (90, 50, 30), (40, 120, 110))),
        Palette((46, 88, 60), (170, 196, 120), ((250, 240, 210), (230, 120, 60), (30, 50, 40))),
        Palette((40, 70, 120), (110, 160, 200), ((250, 235, 200), (240, 110, 80), (20, 40, 70))),
    ),
    "festival": (
        Palette((255, 94, 98), (255, 196, 80), ((255, 255, 255), (60, 20, 90), (0, 170, 200))),
        Palette((30, 140, 190), (250, 120, 150), ((255, 230, 90), (255, 255, 255), (40, 30, 80))),
        Palette((120, 40, 140), (250, 150, 60), ((255, 240, 120), (255, 255, 255), (40, 180, 160))),
    ),
    "comedy": (
        Palette((250, 200, 30), (250, 120, 40), ((30, 30, 60), (255, 255, 255), (0, 120, 200))),
        Palette((20, 70, 200), (110, 40, 190), ((255, 220, 50), (255, 255, 255), (255, 90, 120))),
        Palette((200, 30, 80), (250, 150, 60), ((255, 240, 80), (255, 255, 255), (40, 30, 90))),
    ),
}

CATEGORY_LABELS = {
    "concert": "LIVE MUSIC",
    "theatre": "THEATRE",
    "talk": "TALK",
    "workshop": "WORKSHOP",
    "festival": "FESTIVAL",
    "comedy": "COMEDY",
}


def event_poster(*, name: str, category: str, caption: str, variant: int, seed: str) -> ContentFile:
    """A JPEG poster for an event; the same arguments always give the same image.

    ``variant`` picks the category's palette, so neighbouring events of a kind differ.
    """
    rng = random.Random(seed)
    palettes = PALETTES[category]
    palette = palettes[variant % len(palettes)]
    canvas = _gradient(palette.top, palette.bottom).convert("RGBA")
    motif = Image.new("RGBA", POSTER_SIZE, (0, 0, 0, 0))
    _MOTIFS[category](ImageDraw.Draw(motif), rng, palette)
    motif.alpha_composite(_title_shade())
    canvas.alpha_composite(motif)
    _draw_titles(canvas, name=name, label=CATEGORY_LABELS[category], caption=caption)
    encoded = io.BytesIO()
    canvas.convert("RGB").save(encoded, format="JPEG", quality=85)
    return ContentFile(encoded.getvalue(), name="poster.jpg")


def _gradient(top: RGB, bottom: RGB) -> Image.Image:
    return Image.composite(
        Image.new("RGB", POSTER_SIZE, bottom), Image.new("RGB", POSTER_SIZE, top), _diagonal_ramp()
    )


@functools.cache
def _diagonal_ramp() -> Image.Image:
    width, height = POSTER_SIZE
    # A vertical ramp, stretched and rotated a little, so the blend runs corner to corner.
    ramp = Image.linear_gradient("L").resize((width * 2, height * 2)).rotate(-20)
    return ramp.crop((width // 2, height // 2, width // 2 + width, height // 2 + height))


@functools.cache
def _title_shade() -> Image.Image:
    """Black fading in towards the bottom edge, so white titles stay readable on any palette."""
    width, height = POSTER_SIZE
    fade = Image.linear_gradient("L").resize((width, height - 380)).point(lambda v: v * 150 // 255)
    alpha = Image.new("L", POSTER_SIZE, 0)
    alpha.paste(fade, (0, 380))
    shade = Image.new("RGBA", POSTER_SIZE, (0, 0, 0, 0))
    shade.putalpha(alpha)
    return shade


def _rgba(colour: RGB, alpha: int) -> tuple[int, int, int, int]:
    return (*colour, alpha)


def _concert(draw: ImageDraw.ImageDraw, rng: random.Random, palette: Palette) -> None:
    centre_x, centre_y = rng.randint(760, 1100), rng.randint(160, 320)
    for ring in range(9, 0, -1):
        radius = ring * 48
        colour = palette.accents[ring % len(palette.accents)]
        draw.ellipse(
            (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius),
            outline=_rgba(colour, 70 + ring * 8),
            width=6,
        )
    for index in range(40):
        bar_height = rng.randint(20, 220)
        left = index * 32
        draw.rectangle(
            (left, 720 - bar_height, left + 22, 720),
            fill=_rgba(palette.accents[index % 3], 90),
        )


def _theatre(draw: ImageDraw.ImageDraw, rng: random.Random, palette: Palette) -> None:
    for _ in range(3):
        source_x = rng.randint(200, 1080)
        target_x = rng.randint(300, 1000)
        draw.polygon(
            [(source_x - 20, 0), (source_x + 20, 0), (target_x + 260, 720), (target_x - 260, 720)],
            fill=_rgba(palette.accents[1], 38),
        )
    for side in (0, 1):
        for fold in range(6):
            left = fold * 34 if side == 0 else 1280 - (fold + 1) * 34
            draw.rectangle(
                (left, 0, left + 30, 720), fill=_rgba(palette.accents[2], 120 - fold * 14)
            )
    draw.arc(
        (140, -380, 1140, 420), start=0, end=180, fill=_rgba(palette.accents[0], 200), width=10
    )


def _talk(draw: ImageDraw.ImageDraw, rng: random.Random, palette: Palette) -> None:
    for column in range(26):
        for row in range(15):
            if rng.random() < 0.55:
                x, y = 40 + column * 48, 30 + row * 48
                size = rng.choice((3, 4, 6))
                colour = palette.accents[(column + row) % len(palette.accents)]
                draw.ellipse((x - size, y - size, x + size, y + size), fill=_rgba(colour, 130))
    for _ in range(4):
        x, y = rng.randint(600, 1200), rng.randint(60, 400)
        radius = rng.randint(80, 200)
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            outline=_rgba(palette.accents[0], 150),
            width=3,
        )


def _workshop(draw: ImageDraw.ImageDraw, rng: random.Random, palette: Palette) -> None:
    for stripe in range(-8, 30):
        left = stripe * 60
        if stripe % 3 == 0:
            draw.polygon(
                [(left, 0), (left + 28, 0), (left + 28 + 400, 720), (left + 400, 720)],
                fill=_rgba(palette.accents[0], 45),
            )
    for _ in range(7):
        x, y = rng.randint(560, 1220), rng.randint(40, 460)
        size = rng.randint(40, 120)
        colour = rng.choice(palette.accents)
        shape = rng.choice(("triangle", "square", "circle"))
        if shape == "triangle":
            draw.polygon(
                [(x, y - size), (x + size, y + size), (x - size, y + size)], fill=_rgba(colour, 170)
            )
        elif shape == "square":
            draw.rectangle((x - size, y - size, x + size, y + size), fill=_rgba(colour, 150))
        else:
            draw.ellipse((x - size, y - size, x + size, y + size), fill=_rgba(colour, 160))


def _festival(draw: ImageDraw.ImageDraw, rng: random.Random, palette: Palette) -> None:
    sun_x, sun_y = rng.randint(820, 1080), rng.randint(170, 260)
    draw.ellipse(
        (sun_x - 130, sun_y - 130, sun_x + 130, sun_y + 130), fill=_rgba(palette.accents[0], 210)
    )
    for rope in range(2):
        top = 40 + rope * 70
        for flag in range(17):
            left = flag * 80 - rope * 40
            colour = palette.accents[(flag + rope) % len(palette.accents)]
            sag = int(30 * (1 - ((flag - 8) / 8) ** 2))
            draw.polygon(
                [(left, top + sag), (left + 70, top + sag), (left + 35, top + sag + 70)],
                fill=_rgba(colour, 190),
            )
    hills = (
        [(0, 720)] + [(x, 560 - rng.randint(0, 90)) for x in range(0, 1281, 160)] + [(1280, 720)]
    )
    draw.polygon(hills, fill=_rgba(palette.accents[2], 150))


def _comedy(draw: ImageDraw.ImageDraw, rng: random.Random, palette: Palette) -> None:
    for _ in range(14):
        x, y = rng.randint(0, 1280), rng.randint(0, 560)
        radius = rng.randint(20, 90)
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            fill=_rgba(rng.choice(palette.accents), 80),
        )
    left, top = rng.randint(700, 860), rng.randint(70, 140)
    draw.rounded_rectangle(
        (left, top, left + 380, top + 220), radius=60, fill=_rgba(palette.accents[1], 230)
    )
    draw.polygon(
        [(left + 80, top + 200), (left + 160, top + 200), (left + 40, top + 300)],
        fill=_rgba(palette.accents[1], 230),
    )
    for dot in range(3):
        x = left + 120 + dot * 70
        draw.ellipse((x - 18, top + 92, x + 18, top + 128), fill=_rgba(palette.accents[0], 255))


_MOTIFS: dict[str, Callable[[ImageDraw.ImageDraw, random.Random, Palette], None]] = {
    "concert": _concert,
    "theatre": _theatre,
    "talk": _talk,
    "workshop": _workshop,
    "festival": _festival,
    "comedy": _comedy,
}


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled Aileron; a Pillow built without FreeType falls back to a fixed bitmap.
    return ImageFont.load_default(size=size)


def _plain_letters(text: str) -> str:
    """Drop accents: the font Pillow ships has no accented letters and would draw "É" as a box."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def _draw_titles(canvas: Image.Image, *, name: str, label: str, caption: str) -> None:
    name, caption = _plain_letters(name), _plain_letters(caption)
    draw = ImageDraw.Draw(canvas)
    size = 84
    title_font = _font(size)
    lines = _wrap(draw, name, title_font, 1120)
    while len(lines) > 2 and size > 52:
        size -= 8
        title_font = _font(size)
        lines = _wrap(draw, name, title_font, 1120)
    label_font = _font(28)
    caption_font = _font(34)
    label_width = draw.textlength(label, font=label_font)
    draw.rounded_rectangle((64, 56, 64 + label_width + 40, 104), radius=24, fill=(255, 255, 255))
    draw.text((84, 80), label, font=label_font, fill=(20, 20, 30), anchor="lm")
    line_height = int(size * 1.12)
    top = 720 - 80 - len(lines) * line_height - 50
    for index, line in enumerate(lines):
        position = (64, top + index * line_height)
        draw.text(
            position,
            line,
            font=title_font,
            fill=(255, 255, 255),
            stroke_width=2,
            stroke_fill=(255, 255, 255),
        )
    draw.text((66, 720 - 96), caption, font=caption_font, fill=(235, 235, 240))
