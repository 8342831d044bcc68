"""The embedded default: no network, no key. It keeps each skeleton's name, gender and age as a model is told to,
and proposes names from Faker where a skeleton has none; the profile, look, interests and photo ideas come from Faker
and canned phrases, the bios from the description and each platform's limit; portraits are drawn with
Pillow. The images go through the same grid, split and storage path as real ones."""

from __future__ import annotations

import hashlib
import io
import random
import re

from faker import Faker
from PIL import Image, ImageDraw, ImageStat

from generation.imaging.grids import Shape
from generation.integrations import languages
from generation.integrations.contract import IdeasRequest, PersonaRequest, Skeleton
from siteconfig.defaults import BIO_LIMITS

SKIN = [(241, 194, 167), (224, 172, 140), (198, 134, 103), (160, 102, 72), (110, 70, 50)]
HAIR = [(35, 25, 20), (90, 60, 35), (160, 120, 70), (200, 170, 110), (120, 40, 30), (60, 60, 60)]
# The pixels of each shape: those the OpenAI backend asks for by default, so both go through the same split.
PIXELS: dict[str, tuple[int, int]] = {"square": (1024, 1024), "portrait": (1024, 1536)}
SCENES = [(110, 160, 200), (120, 170, 110), (200, 150, 110), (150, 120, 170), (90, 110, 130), (210, 190, 140)]


def locale_for(language: str) -> str:
    """The Faker locale of the language; American names, as a model would guess them, where Faker has none."""
    found = languages.find(language)
    return found.faker_locale if found and found.faker_locale else "en_US"


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
        taken = {name.casefold() for name in request.avoid_names}
        people = list(request.people) or [
            Skeleton(slot, random.choice("fm"), random.randint(20, 60)) for slot in range(request.count)
        ]
        personas = []
        for someone in people[: request.count]:
            first, last = someone.firstname, someone.lastname
            for _ in range(20 if not someone.named else 0):
                female = someone.gender == "f"
                first = fake.first_name_female() if female else fake.first_name_male()
                last = fake.last_name_female() if female else fake.last_name_male()
                if f"{first} {last}".casefold() not in taken:
                    break
            taken.add(f"{first} {last}".casefold())
            personas.append(_persona(fake, request, someone, first, last))
        return personas

    def write_photo_ideas(self, request: IdeasRequest) -> list[str]:
        rng = random.Random()
        avoid = {idea.casefold() for idea in request.avoid}
        fresh = [idea for idea in _ideas(rng, len(PLACES) * len(MOMENTS)) if idea.casefold() not in avoid]
        return fresh[: request.count]

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


PLACES = ["at a café terrace", "on a city street", "at their workplace", "in a park", "at a friend's kitchen table",
          "on a beach", "at a market", "on a hiking trail", "at a concert", "on a balcony at home",
          "in a bookshop", "at a train station"]  # fmt: skip
MOMENTS = ["on a sunny morning", "at golden hour", "on a rainy afternoon", "late in the evening", "at lunchtime"]
OUTFITS = ["in a denim jacket", "in work clothes", "in a summer dress or shirt", "in a warm coat", "in sportswear"]
INTEREST_WORDS = ["cooking", "running", "photography", "gardening", "live music", "board games", "cycling",
                  "reading", "travel", "yoga", "football", "painting"]  # fmt: skip
LOOKS = ["short dark hair, slim build, casual style", "shoulder-length brown hair, average build, smart casual",
         "curly hair, athletic build, sporty style", "long straight hair, tall, relaxed style"]  # fmt: skip
OLDER_LOOKS = ["greying hair, stocky build, classic style", "silver hair, slim build, neat and comfortable clothes"]


def _ideas(rng: random.Random, count: int) -> list[str]:
    """`count` distinct photo scenes, as a model might write them."""
    scenes = [f"{place} {moment}" for place in PLACES for moment in MOMENTS]
    rng.shuffle(scenes)
    return [f"{scene}, {rng.choice(OUTFITS)}" for scene in scenes[:count]]


def _persona(fake: Faker, request: PersonaRequest, someone: Skeleton, first: str, last: str) -> dict:
    rng = random.Random()
    city, job = fake.city(), fake.job()
    topic = _fit(request.description, 60)
    interests = rng.sample(INTEREST_WORDS, 3)
    fields = {
        "ref": someone.ref,
        "firstname": first,
        "lastname": last,
        "gender": someone.gender,
        "age": someone.age,
        "ethnicity": f"{request.country}-born" if request.country else "mixed heritage",
        "job_title": _fit(job, 120),
        "workplace": _fit(fake.company(), 150),
        "edu_establishment": f"University of {fake.city()}",
        "edu_study": _fit(fake.job(), 120),
        "current_city": city,
        "current_state": _fit(fake.city(), 100),
        "prev_city": fake.city(),
        "prev_state": _fit(fake.city(), 100),
        "about": _fit(f"{job} in {city}. {topic}. I love {', '.join(interests)}.", 600),
        "look": rng.choice(LOOKS + OLDER_LOOKS if someone.age >= 50 else LOOKS),
        "interests": interests,
        "photo_ideas": _ideas(rng, request.photo_ideas),
        "bio_facebook": _fit(f"{job} | {city} | {topic}", BIO_LIMITS["facebook"]),
        "bio_instagram": _fit(f"{job} ✨\n{topic}\n📍 {city}", BIO_LIMITS["instagram"]),
        "bio_x": _fit(f"{job}, {city}. Posts about {topic.lower()}.", BIO_LIMITS["x"]),
        "bio_tiktok": _fit(f"{topic} 🎬 {city}", BIO_LIMITS["tiktok"]),
    }
    return fields


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
