"""11. Who the people are. Not a speed benchmark: figures about the personas a task draws and what asking for them
costs in words, each against what the request or the name lists allow.

- The skeletons (generation.pipeline.skeletons) of 500 personas each in English, Portuguese and Japanese, at the
  default request (ages 20-60, women and men mixed), drawn for saved tasks as the pipeline draws them:
  - unique full names, out of all personas (target: every one);
  - distinct first names against the number expected from the locale's own list for that many draws: with n
    draws of one gender from Faker's weights p_i (its OrderedDict of weights, or equal weights for a plain
    list), sum over the names of 1 - (1 - p_i)^n, per gender, added up. Below 1 means the draw narrows the list,
    as a model's favourite names do;
  - ages against the request (every age within it; min, median, max in the details) and the share of women
    against the half a mix asks for.
- One small offline task (GENERATION_BACKEND=offline) run end to end in-process (run_inline): every profile
  field, bio, photo and detail of every persona filled, and each persona keeps its skeleton's name, age and gender.
- One task of 10 personas x 8 images through the loopback OpenAI server (testkit.fake_openai, recording): the
  prompt characters per persona (the chat requests' message contents added up, over the personas asked) and the
  output tokens per persona the server reported (its chat answers' completion_tokens). The completion tokens are
  the loopback server's own count (a quarter of its answer's characters), so they follow the fields the request's
  schema asks for, not a real model's wordiness. The same task measured at eb1c3f7, before the skeletons (a
  worktree of that commit running loopback_figures, without the seed its submit_task did not take), asked for
  names, gender and four bios only: 524.5 prompt characters and 77.3 output tokens per persona (BEFORE, shown in
  the details beside this run's figures).

The Django work runs in child processes (bench.harness.django_call "bench.people:<function>"), on a database of
its own. `python -m bench.people` runs it alone and prints the table and every figure's details."""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import uuid

from bench import harness
from bench.common import Figure

BENCH = "11 people"
LANGUAGES = ("English", "Portuguese", "Japanese")
DRAWN = 500
SEED = 20261208  # fixed, so a run repeats its draw
DESCRIPTION = "Night-shift nurses who run half-marathons"
OFFLINE_TASK = (20, 4)  # personas x images, run end to end offline
OFFLINE_TASK_QUICK = (5, 4)
LOOPBACK_TASK = (10, 8)  # personas x images, through the loopback server
API_KEY = "sk-bench-0123456789abcdef"
# The loopback figures at eb1c3f7 (names, gender and bios only), measured once: that code cannot run here.
BEFORE = {"commit": "eb1c3f7", "prompt_chars_per_persona": 524.5, "completion_tokens_per_persona": 77.3}


# -- in a child process, Django set up ---------------------------------------------------------------------------


def _submit(language: str, personas: int, images: int, **people):
    """A task submitted as the web app does, by a user of its own (a pending task; nothing runs it but us)."""
    from accounts.models import User
    from generation.services import submit_task

    user = User.objects.create_user(f"bench-people-{uuid.uuid4().hex[:12]}@example.com")
    return submit_task(user=user, persona_description=DESCRIPTION, bio_language=language,
                       number_to_generate=personas, images_per_persona=images, **people)  # fmt: skip


def name_weights(names) -> dict[str, float]:
    """A Faker name list as probabilities: an OrderedDict of weights as given, a list or tuple with equal weights
    (a name listed twice counting twice)."""
    weights: dict[str, float] = {}
    pairs = names.items() if hasattr(names, "items") else ((name, 1.0) for name in names)
    for name, weight in pairs:
        weights[name] = weights.get(name, 0.0) + float(weight)
    total = sum(weights.values())
    return {name: weight / total for name, weight in weights.items()}


def expected_distinct(names, draws: int) -> float:
    """The number of distinct names `draws` independent draws from the list are expected to give."""
    return sum(1 - (1 - p) ** draws for p in name_weights(names).values())


def distinct_spread(names, draws: int) -> float:
    """The standard deviation of that number: from the variance of a sum of the names' "drawn at least once"."""
    shares = list(name_weights(names).values())
    missed = [(1 - p) ** draws for p in shares]
    variance = sum(m - m * m for m in missed)
    for i, p in enumerate(shares):
        for j in range(i + 1, len(shares)):
            variance += 2 * ((1 - p - shares[j]) ** draws - missed[i] * missed[j])
    return math.sqrt(max(0.0, variance))


def person_provider(locale: str):
    from faker import Faker

    return next(p for p in Faker(locale).providers if p.__provider__ == "faker.providers.person")


def draw_people(language: str, personas: int, seed: int) -> dict:
    """(In a child.) The skeletons of a saved task of `personas` at the default request, measured against it."""
    from generation.pipeline.skeletons import country_of, names_locale, people_request, skeletons

    task = _submit(language, personas, 4, seed=seed)
    request = people_request(task)
    locale = names_locale(task.bio_language, country_of(task, request))
    drawn = skeletons(task, range(personas))
    provider = person_provider(locale) if locale else None
    first_names = {}
    for gender, listed in (("f", "first_names_female"), ("m", "first_names_male")):
        names = [s.firstname for s in drawn if s.gender == gender]
        offered = getattr(provider, listed, ()) if provider else ()
        first_names[gender] = {
            "draws": len(names),
            "distinct": len(set(names)),
            "expected": round(expected_distinct(offered, len(names)), 2) if offered else 0.0,
            "expected_sd": round(distinct_spread(offered, len(names)), 2) if offered else 0.0,
            "offered": len(name_weights(offered)) if offered else 0,
        }
    ages = sorted(s.age for s in drawn)
    return {
        "language": language,
        "locale": locale,
        "personas": len(drawn),
        "named": sum(s.named for s in drawn),
        "unique_full_names": len({s.name_key for s in drawn if s.named}),
        "first_names": first_names,
        "request": {
            "age_min": request.age_min,
            "age_max": request.age_max,
            "gender": request.gender,
            "country": request.country,
            "seed": request.seed,
        },
        "ages": {
            "min": ages[0],
            "median": ages[len(ages) // 2],
            "max": ages[-1],
            "distinct": len(set(ages)),
            "within": sum(request.age_min <= age <= request.age_max for age in ages),
        },
        "women": sum(s.gender == "f" for s in drawn),
    }


def offline_task(personas: int, images: int, seed: int) -> dict:
    """(In a child, GENERATION_BACKEND=offline.) One task run end to end in this process; what each persona has."""
    from generation.models import GenerationResult, GenerationTask
    from generation.pipeline.skeletons import people_request, skeletons
    from generation.pipeline.stages import run_inline

    task = _submit("English", personas, images, seed=seed)
    run_inline(task)
    task = GenerationTask.objects.get(pk=task.pk)
    request = people_request(task)
    drawn = {(s.firstname, s.lastname): s for s in skeletons(task, range(personas))}
    details = ("look", "interests", "photo_ideas")
    checks = ["firstname", "lastname", "gender", "bio_facebook", "bio_instagram", "bio_x", "bio_tiktok",
              "base_image_url", "images", *GenerationResult.PROFILE_FIELDS, *details]  # fmt: skip
    missing = dict.fromkeys(checks, 0)
    as_drawn = 0
    results = list(task.results.select_related("details"))
    for result in results:
        written = getattr(result, "details", None)
        values = {name: getattr(result, name) for name in checks[: -len(details)]}
        values |= {name: getattr(written, name, None) for name in details}
        for name, value in values.items():
            wanted = images if name in ("images", "photo_ideas") else 1
            if value in (None, "", [], {}) or (isinstance(value, list) and len(value) < wanted):
                missing[name] += 1
        skeleton = drawn.get((result.firstname, result.lastname))
        as_drawn += bool(skeleton and (skeleton.gender, skeleton.age) == (result.gender, result.age))
    return {
        "status": task.status,
        "personas": len(results),
        "asked": personas,
        "fields_checked": len(checks),
        "missing": {name: count for name, count in missing.items() if count},
        "as_drawn": as_drawn,
        "ages_within": sum(request.age_min <= (r.age or -1) <= request.age_max for r in results),
        "unique_full_names": len({(r.firstname, r.lastname) for r in results}),
    }


def loopback_task(personas: int, images: int, seed: int) -> dict:
    """(In a child, GENERATION_BACKEND=openai at the loopback server.) One task run end to end in this process."""
    from generation.models import GenerationTask
    from generation.pipeline.stages import run_inline

    task = _submit("English", personas, images, seed=seed)
    run_inline(task)
    task = GenerationTask.objects.get(pk=task.pk)
    return {"status": task.status, "personas": task.results.count(), "asked": task.number_to_generate}


# -- in the benchmark process ------------------------------------------------------------------------------------


def content_chars(message: dict) -> int:
    """The characters of one chat message's content: a string, or the text of its parts."""
    content = message.get("content")
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(len(part.get("text") or "") for part in content if isinstance(part, dict))
    return 0


def chat_words(fake, personas: int) -> dict:
    """What the loopback server saw and said for chat: requests, prompt characters and completion tokens, per
    persona asked."""
    requests = [call.json or {} for call in fake.calls("/chat/completions")]
    prompt = sum(content_chars(m) for payload in requests for m in payload.get("messages") or [])
    sent = [usage for usage in fake.usage_sent if "completion_tokens" in usage]
    completion = sum(usage["completion_tokens"] for usage in sent)
    return {
        "chat_requests": len(requests),
        "prompt_chars": prompt,
        "prompt_chars_per_persona": round(prompt / personas, 1),
        "prompt_tokens_reported": sum(usage["prompt_tokens"] for usage in sent),
        "completion_tokens": completion,
        "completion_tokens_per_persona": round(completion / personas, 1),
    }


def loopback_figures(db_url: str, media: str) -> dict:
    """The 10 x 8 task through a recording loopback server: the chat figures and the task's end."""
    from testkit.fake_openai import running_fake_openai

    personas, images = LOOPBACK_TASK
    with running_fake_openai() as fake:
        env = {"DATABASE_URL": db_url, "GENERATION_BACKEND": "openai", "OPENAI_BASE_URL": fake.base_url,
               "OPENAI_API_KEY": API_KEY, "FACE_CHECK": "off", "MEDIA_ROOT": media}  # fmt: skip
        task = harness.django_call(env, "bench.people:loopback_task", personas=personas, images=images, seed=SEED)
        return chat_words(fake, task["asked"]) | {"task": task}


def name_figures(drawn: dict) -> list[Figure]:
    language, personas = f"{drawn['language']} ({drawn['locale'] or 'no locale'})", drawn["personas"]
    unique = 100 * drawn["unique_full_names"] / personas
    firsts = drawn["first_names"]
    distinct = sum(g["distinct"] for g in firsts.values())
    expected = sum(g["expected"] for g in firsts.values())
    ages, request = drawn["ages"], drawn["request"]
    women = 100 * drawn["women"] / personas
    return [
        Figure(BENCH, f"unique full names, {language}, {personas} personas", unique, "%", 100.0, "= 100 %",
               drawn["unique_full_names"] == personas, {"named": drawn["named"], "seed": request["seed"]}),
        Figure(BENCH, f"distinct first names vs expected from the locale's list, {language}", distinct, "names",
               expected, "ratio >= 0.95", expected > 0 and distinct >= 0.95 * expected, firsts),
        Figure(BENCH, f"ages within the request {request['age_min']}-{request['age_max']}, {language}",
               100 * ages["within"] / personas, "%", 100.0, "= 100 %", ages["within"] == personas, ages),
        Figure(BENCH, f"share of women, mix '{request['gender']}', {language}", women, "%", 50.0,
               "ratio 1.00 (half, to one persona)", abs(drawn["women"] - personas / 2) <= 1,
               {"women": drawn["women"], "men": personas - drawn["women"]}),
    ]  # fmt: skip


def run(quick: bool) -> list[Figure]:
    personas, images = OFFLINE_TASK_QUICK if quick else OFFLINE_TASK
    figures: list[Figure] = []
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(harness.database("people"))
        media = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_people_media_"))
        offline = {"DATABASE_URL": db_url, "GENERATION_BACKEND": "offline", "MEDIA_ROOT": media}
        for language in LANGUAGES:
            drawn = harness.django_call(offline, "bench.people:draw_people", language=language, personas=DRAWN,
                                        seed=SEED)  # fmt: skip
            harness.log(f"{language}: {json.dumps(drawn, ensure_ascii=False)}")
            figures += name_figures(drawn)
        ran = harness.django_call(offline, "bench.people:offline_task", personas=personas, images=images, seed=SEED)
        harness.log(f"offline task: {ran}")
        cells = ran["personas"] * ran["fields_checked"]
        filled = cells - sum(ran["missing"].values())
        figures.append(
            Figure(BENCH, f"profile fields filled, offline task of {personas} x {images} run end to end", filled,
                   "fields", ran["asked"] * ran["fields_checked"], "ratio = 1.00",
                   ran["status"] == "completed" and filled == ran["asked"] * ran["fields_checked"], ran)
        )  # fmt: skip
        figures.append(
            Figure(BENCH, "offline personas that keep their skeleton's name, age and gender", ran["as_drawn"],
                   "personas", ran["asked"], "ratio = 1.00", ran["as_drawn"] == ran["asked"])
        )  # fmt: skip
        words = loopback_figures(db_url, media)
        harness.log(f"loopback task: {words}")
    label = f"{LOOPBACK_TASK[0]} x {LOOPBACK_TASK[1]} through the loopback server"
    ended = words["task"]["status"] == "completed"
    figures += [
        Figure(BENCH, f"prompt characters per persona, {label}", words["prompt_chars_per_persona"], "chars",
               target="info", ok=None if ended else False, details=words | {"before": BEFORE}),
        Figure(BENCH, f"output tokens per persona the server reported, {label}",
               words["completion_tokens_per_persona"], "tokens", target="info", ok=None if ended else False,
               details={"before": BEFORE}),
    ]  # fmt: skip
    return figures


def main() -> None:
    import argparse

    from bench.run import table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller offline task (the draws stay at 500)")
    figures = run(quick=parser.parse_args().quick)
    print()
    print(table(figures))
    print()
    for figure in figures:
        if figure.details:
            print(f"{figure.name}:\n   {json.dumps(figure.details, ensure_ascii=False)}")


if __name__ == "__main__":
    main()
