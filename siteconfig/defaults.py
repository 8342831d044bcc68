"""Default bio prompts and config flags, in one place: the data migrations and
`manage.py reseed_prompts` both read them. Plain constants, no models, so a migration may import
this module safely."""

from decimal import Decimal

PLATFORMS = ("facebook", "instagram", "x", "tiktok")


def bio_prompt_key(platform: str) -> str:
    return f"bio_prompt_{platform}"


DEFAULT_BIO_PROMPTS = {
    "bio_prompt_facebook": (
        "Write the Facebook 'Intro' of this person, in the first person, as they would fill it in "
        "themselves. Facebook shows the intro in a small box, so keep it under 101 characters. "
        "Sound warm and ordinary: where they live or come from, what they do or study, and one or "
        "two things they care about (family, a hobby, a local team). Plain sentences or short "
        "fragments joined with ' | ' are both fine. No hashtags, no links, at most one emoji, "
        "nothing that sounds like an advert."
    ),
    "bio_prompt_instagram": (
        "Write this person's Instagram bio. The hard limit is 150 characters, line breaks "
        "included; aim for 80 to 140. Instagram bios are visual and compact: two to four short "
        "lines or fragments, each about one side of their life (work, passion, place, a small "
        "personal touch). One to three emojis that fit the person are welcome, a hashtag only if "
        "it belongs to a real interest. No links, no 'follow me', no quotation marks around the "
        "bio."
    ),
    "bio_prompt_x": (
        "Write this person's bio for X (formerly Twitter). The limit is 160 characters; aim for "
        "100 to 155. X bios are quick and opinionated: a snapshot of what they post about and a "
        "hint of personality or dry humour, often a few fragments separated by commas, slashes "
        "or middots. At most one emoji and at most one hashtag. Do not mention follower counts, "
        "do not add links, and do not write it in the third person."
    ),
    "bio_prompt_tiktok": (
        "Write this person's TikTok bio. TikTok cuts bios at 80 characters, so stay at or under "
        "80. It should read as casual and playful, the way creators introduce their content: "
        "what kind of videos they make or the vibe of their page, in a few words. Emojis are "
        "common here (up to three). No links, no hashtags, no 'link in bio', no quotation marks."
    ),
}

DEFAULT_CONFIG_FLAGS = {
    # Base selfie made from a random reference face out of storage instead of from text alone.
    "randomize_face_base": False,
    # With randomize_face_base on: only pick reference faces of the persona's gender.
    "randomize_face_gender_lock": False,
}

# What each flag does, in the operators' words: the admin shows it beside the flag, whose key is all it had.
CONFIG_FLAG_HELP = {
    "randomize_face_base": (
        "On: each persona's base selfie is made from a reference face picked at random among the uploaded faces "
        "(faces/f/ and faces/m/, added with manage.py import_faces), so personas look like real people. Off: the "
        "image model draws the face from the description alone. With no uploaded faces, the flag changes nothing."
    ),
    "randomize_face_gender_lock": (
        "Only matters with randomize_face_base on. On: the reference face is picked among faces of the persona's "
        "gender (faces/f/ for women, faces/m/ for men). Off: any uploaded face may be picked, whatever the gender."
    ),
}

# Where each platform cuts a bio, in characters (the prompts above say the same in words).
BIO_LIMITS = {"facebook": 101, "instagram": 150, "x": 160, "tiktok": 80}


# The size of the amounts a budget column holds (numeric(10, 2)). Plain constants, so that settings, the models,
# the forms and the services share one limit and none of them sends the database a figure it would refuse.
BUDGET_DIGITS = 10
BUDGET_PLACES = 2
MOST_USD = Decimal(10 ** (BUDGET_DIGITS - BUDGET_PLACES)) - Decimal("0.01")
