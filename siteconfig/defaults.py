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

# The original app's two later flags (its revisions 70c50b9233b6 and d8982580d2a4), seeded off by migrations 0003 and
# 0004 of their own rather than added above: migration 0002 seeds DEFAULT_CONFIG_FLAGS as the documented chain did.
LATER_CONFIG_FLAGS = {"crop_white_borders": False, "randomize_image_style": False}

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
    "crop_white_borders": (
        "On: plain near-white borders (every pixel brighter than 225 of 255, at most a quarter of a side) are "
        "trimmed from each base selfie and each photo before it is checked, signed and stored; a trimmed base is "
        "stored as a lossless PNG. The Content Credentials record the trim as a crop. Off: the photos are stored as "
        "cut from the model's grids."
    ),
    "randomize_image_style": (
        "On: each photo (not the base selfie, which the model is shown as the person's reference) gets a random "
        "phone-camera look before it is signed: a colour preset, a small contrast change, a slight blur or "
        "sharpening, grain, a vignette and a JPEG quality from 78 to 95. This edits the pixels on purpose; the "
        "photo is still declared AI-generated, and its Content Credentials record the edit (colour adjustments "
        "and filters) with the model's grid as its parent. Off: photos are stored as the model made them."
    ),
}

# Integer settings (`int_config`), each with the whole numbers it may take and what it does.
MAX_CONCURRENT_TASKS = "max_concurrent_tasks"
DEFAULT_INT_CONFIG = {MAX_CONCURRENT_TASKS: 1}
INT_CONFIG_RANGES = {MAX_CONCURRENT_TASKS: (1, 50)}
INT_CONFIG_HELP = {
    MAX_CONCURRENT_TASKS: (
        "How many generation tasks may generate at the same time, from 1 to 50 (the original app's setting; it "
        "starts at 1, so tasks run one after another). The others wait as Pending and start in the order they were "
        "submitted, as running ones end; their pages say so. New photos or bios of a finished task never wait."
    ),
}

# Where each platform cuts a bio, in characters (the prompts above say the same in words).
BIO_LIMITS = {"facebook": 101, "instagram": 150, "x": 160, "tiktok": 80}


# The size of the amounts a budget column holds (numeric(10, 2)). Plain constants, so that settings, the models,
# the forms and the services share one limit and none of them sends the database a figure it would refuse.
BUDGET_DIGITS = 10
BUDGET_PLACES = 2
MOST_USD = Decimal(10 ** (BUDGET_DIGITS - BUDGET_PLACES)) - Decimal("0.01")
