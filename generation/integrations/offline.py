"""The embedded default: no network, no key. Names come from Faker in a locale that fits the bio
language; bios are composed from the description and each platform's limit; portraits are drawn
with Pillow. The images go through the same grid, split and storage path as real ones."""

from __future__ import annotations

import hashlib
import io
import random
import re

from faker import Faker
from PIL import Image, ImageDraw, ImageStat

from generation.imaging.grids import Shape
from generation.integrations.contract import PersonaRequest
from generation.integrations.languages import BIO_LANGUAGES
from siteconfig.defaults import BIO_LIMITS

SKIN = [(241, 194, 167), (224, 172, 140), (198, 134, 103), (160, 102, 72), (110, 70, 50)]
HAIR = [(35, 25, 20), (90, 60, 35), (160, 120, 70), (200, 170, 110), (120, 40, 30), (60, 60, 60)]
# The pixels of each shape: those the OpenAI backend asks for by default, so both go through the same split.
PIXELS: dict[str, tuple[int, int]] = {"square": (1024, 1024), "portrait": (1024, 1536)}
SCENES = [(110, 160, 200), (120, 170, 110), (200, 150, 110), (150, 120, 170), (90, 110, 130), (210, 190, 140)]


def locale_for(language: str) -> str:
    words = language.strip().split()
    return BIO_LANGUAGES.get(words[0].capitalize() if words else "English", "en_US")


def _fit(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;·|") + "…"


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class OfflineBackend:
    name = "offline"

    def generate_personas(self, request: PersonaRequest) -> list[dict]:
        # Seeded afresh from the OS on each call: Faker's shared generator is copied into every forked worker, which
        # would then all draw the same names, and concurrent batches of one task would keep dropping each other's.
        fake = Faker(locale_for(request.language))
        fake.seed_instance()
        taken = {name.lower() for name in request.avoid_names}
        topic = _fit(request.description, 60)
        personas = []
        for _ in range(request.count * 20):
            if len(personas) == request.count:
                break
            gender = random.choice("fm")
            first = fake.first_name_female() if gender == "f" else fake.first_name_male()
            last = fake.last_name()
            if f"{first} {last}".lower() in taken:
                continue
            taken.add(f"{first} {last}".lower())
            city, job = fake.city(), fake.job()
            personas.append(
                {
                    "firstname": first,
                    "lastname": last,
                    "gender": gender,
                    "bio_facebook": _fit(f"{job} | {city} | {topic}", BIO_LIMITS["facebook"]),
                    "bio_instagram": _fit(f"{job} ✨\n{topic}\n📍 {city}", BIO_LIMITS["instagram"]),
                    "bio_x": _fit(f"{job}, {city}. Posts about {topic.lower()}.", BIO_LIMITS["x"]),
                    "bio_tiktok": _fit(f"{topic} 🎬 {city}", BIO_LIMITS["tiktok"]),
                }
            )
        return personas

    def generate_image(self, prompt: str, *, shape: Shape) -> bytes:
        width, height = PIXELS[shape]
        rng = _rng(prompt)
        look = (rng.choice(SKIN), rng.choice(HAIR))
        image = Image.new("RGB", (width, height), rng.choice(SCENES))
        _draw_person(ImageDraw.Draw(image), (0, 0, width, height), look, rng)
        return _png(image)

    def edit_image(self, references: list[bytes], prompt: str, *, shape: Shape, grid: tuple[int, int] | None) -> bytes:
        width, height = PIXELS[shape]
        rng = random.Random()  # like a real model: the same request twice gives other pictures
        look = _look_of(references[0]) if references else (rng.choice(SKIN), rng.choice(HAIR))
        if not grid:
            image = Image.new("RGB", (width, height), rng.choice(SCENES))
            _draw_person(ImageDraw.Draw(image), (0, 0, width, height), look, rng)
            return _png(image)
        cols, rows = grid
        image = Image.new("RGB", (width, height), "white")
        # Uneven white gutters and borders, as image models draw them.
        border = rng.randint(0, 6)
        xs = _cuts(width, cols, border, rng)
        ys = _cuts(height, rows, border, rng)
        for top, bottom in ys:
            for left, right in xs:
                # Each photo is drawn on its own canvas, so nothing spills into the white gutters.
                photo = Image.new("RGB", (right - left, bottom - top), rng.choice(SCENES))
                _draw_person(ImageDraw.Draw(photo), (0, 0, right - left, bottom - top), look, rng)
                image.paste(photo, (left, top))
        return _png(image)


def _cuts(length: int, parts: int, border: int, rng: random.Random) -> list[tuple[int, int]]:
    inner = length - 2 * border
    edges, start = [], border
    for n in range(1, parts + 1):
        if n == parts:
            edges.append((start, length - border))
            break
        middle = border + inner * n // parts + rng.randint(-inner // 60, inner // 60)
        gutter = rng.randint(5, 14)
        edges.append((start, middle - gutter // 2))
        start = middle - gutter // 2 + gutter
    return edges


def _look_of(reference: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The skin and hair colours of a portrait, so the grid shows the same 'person'."""
    with Image.open(io.BytesIO(reference)) as image:
        image = image.convert("RGB")
        width, height = image.size
        face = image.crop((width * 45 // 100, height * 45 // 100, width * 55 // 100, height * 55 // 100))
        hair = image.crop((width * 45 // 100, height * 25 // 100, width * 55 // 100, height * 28 // 100))
        return tuple(int(v) for v in ImageStat.Stat(face).mean), tuple(int(v) for v in ImageStat.Stat(hair).mean)


def _draw_person(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], look, rng: random.Random) -> None:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    skin, hair = look
    cx, cy = left + width // 2, top + height // 2
    head_w, head_h = width * 0.16, height * 0.2
    shirt = tuple(rng.randint(30, 220) for _ in range(3))
    draw.ellipse((cx - width * 0.32, cy + head_h * 0.9, cx + width * 0.32, bottom + height * 0.3), fill=shirt)
    draw.ellipse((cx - head_w * 1.1, cy - head_h * 1.35, cx + head_w * 1.1, cy + head_h * 0.2), fill=hair)
    draw.ellipse((cx - head_w, cy - head_h, cx + head_w, cy + head_h), fill=skin)
    eye = max(2, int(width * 0.015))
    for side in (-1, 1):
        ex, ey = cx + side * head_w * 0.4, cy - head_h * 0.15
        draw.ellipse((ex - eye, ey - eye, ex + eye, ey + eye), fill=(40, 30, 30))
    draw.arc((cx - head_w * 0.4, cy + head_h * 0.2, cx + head_w * 0.4, cy + head_h * 0.6), 20, 160, fill=(120, 40, 40))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
