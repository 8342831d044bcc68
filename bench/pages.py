"""5. Pages at scale: p50/p95 server time and query count of the pages people open most, over a database of
1,000,000 results and 20,000 tasks (quick: 50,000 and 1,000). Target: p95 under 100 ms each, and a query count that
does not depend on the number of rows.

The database is the bench's own (`bench_pages_<random>`, a copy of a template migrated with `manage.py migrate`,
filled with SQL `INSERT … SELECT … FROM generate_series`, dropped `WITH (FORCE)` at the end, even on error). The
pages are the real views, driven in this process by `django.test.Client` with production settings (DEBUG off).

Query counts are taken twice in the same run: first over a small data set (40 tasks, ~2,450 results and as many API
calls, the same users and the same 500-persona task), then again after the bulk load; a page whose count grew between
the two fails the "independent of rows" figure (the admin's lists make one query fewer at scale, where an estimate
replaces COUNT(*)). The EXPLAIN ANALYZE of the queries the task list runs shows what its per-task subqueries cost.
Each timed page is requested 3 times to warm up, then measured over 30 requests (10 in quick mode). The details name
each page's slowest queries."""

from __future__ import annotations

import os
import secrets
import sys
import time
import warnings
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from django.apps import apps
from django.contrib import admin

from bench import harness
from bench.common import Figure, percentile

BENCH = "5 pages at scale"
ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0

USERS = 200
BIG_TASK_PERSONAS = 500  # task 1: the staff user's 500-persona task with 8 images each
SMALL_TASKS = 40  # tasks of the first (query-count) data set: task 1 and 39 of ~50 personas
SCALES = {False: (20_000, 1_000_000), True: (1_000, 50_000)}  # quick -> (tasks, results)
WARMUP = 3
REQUESTS = {False: 30, True: 10}
# A persona the operators might look up by name: one row in the whole table.
RARE_FIRSTNAME, RARE_LASTNAME = "Zéphyrine", "Quennevilliers"


# --- A database of the bench's own ------------------------------------------------------------------------------


def bench_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a process that runs the app against `url`, with production settings."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE=env.get("DJANGO_SETTINGS_MODULE", "avatar_project.settings"),
        DEBUG="false",  # .env may say true; the figures are about production
        SECRET_KEY=env.get("SECRET_KEY") or "bench-" + secrets.token_urlsafe(32),
        ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


@contextmanager
def scratch_database(prefix: str):
    """A database of the bench's own, `<prefix>_<random>`: a copy of the run's migrated template (see
    harness.database), dropped WITH (FORCE) however the block ends. Yields its URL."""
    with harness.database(prefix.removeprefix("bench_")) as url:
        try:
            yield url
        finally:
            close_django_connections()


def close_django_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


@contextmanager
def django_on(url: str):
    """Django in this process, pointed at `url`: set up through the environment (production settings) when it is
    not yet, or by renaming the default connection's database when another benchmark has set it up already; in that
    case put back as it was afterwards."""
    import django
    from django.conf import settings
    from django.db import connections

    previous = None
    if not settings.configured:
        saved = dict(os.environ)
        os.environ.update(bench_env(url))
        # Whitenoise warns that STATIC_ROOT was never collected: the pages measured serve no static files.
        warnings.filterwarnings("ignore", message="No directory at")
        try:
            django.setup()
        finally:  # what later benchmarks and their subprocesses see stays as it was
            os.environ.clear()
            os.environ.update(saved)
    else:
        django.setup()  # no-op when done; needed when only the settings were read so far
        connections.close_all()
        parts = urlsplit(url)
        previous = dict(connections["default"].settings_dict)
        connections["default"].settings_dict.update(
            ENGINE="django.db.backends.postgresql",
            NAME=parts.path.lstrip("/"),
            USER=parts.username or "",
            PASSWORD=parts.password or "",
            HOST=parts.hostname or "",
            PORT=str(parts.port or ""),
        )
    hosts = settings.ALLOWED_HOSTS
    settings.ALLOWED_HOSTS = [*hosts, "testserver"]
    try:
        yield
    finally:
        connections.close_all()
        settings.ALLOWED_HOSTS = hosts
        if previous is not None:
            connections["default"].settings_dict.clear()
            connections["default"].settings_dict.update(previous)


# --- The data ---------------------------------------------------------------------------------------------------

DESCRIPTIONS = [
    "Amateur cyclists in their thirties who live in Lyon",
    "Surfers from Biarritz who work remotely",
    "Retired teachers who garden and travel in Portugal",
    "Young founders of fintech start-ups in Berlin",
    "Nurses on night shifts in Manchester hospitals",
    "Street food vendors from Bangkok who post recipes",
    "Climbers and mountain guides in Chamonix",
    "University students of architecture in Milan",
    "Small-town bakers in Alsace with a family business",
    "Jazz musicians in New Orleans in their fifties",
    "Parents of toddlers who blog about slow living in Kyoto",
    "Data engineers in Toronto who run marathons",
]
FIRSTNAMES = (
    "Camille Léa Manon Chloé Emma Inès Jade Louise Alice Lina Sarah Julie Zoé Clara Anna Eva Mila Rose Nina Lucie "
    "Lucas Hugo Louis Gabriel Arthur Jules Adam Raphaël Paul Nathan Tom Théo Noah Ethan Léo Sacha Maël Victor Oscar "
    "Hannah Mia Sofia Emilia Lena Marie Amelie Johanna Lea Greta Jonas Finn Elias Felix Leon Noel Anton Emil Moritz "
    "Olivia Amelia Isla Ava Grace Freya Lily Ivy Poppy Florence Oliver George Harry Jack Charlie Alfie Freddie Henry"
)
LASTNAMES = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel Garcia "
    "David Bertrand Roux Vincent Fournier Morel Girard Andre Lefevre Mercier Dupont Lambert Bonnet Francois Martinez "
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf Neumann "
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans Walker White "
    "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Silva Santos Ferreira Pereira Oliveira"
)
BIOS = {
    "bio_facebook": [
        "Passionate about good food, long rides and my two kids. Working in logistics by day, cooking for friends "
        "every weekend. Always up for a road trip along the coast.",
        "Nurse, runner, amateur photographer. I share what I see on my way to work and back, and the odd recipe my "
        "grandmother left me.",
        "Teacher for twenty years, now retired and finally free to garden, travel and read everything I never had "
        "time for. Grandmother of three.",
        "Founder of a small bakery. Up at four, flour everywhere, happiest when the first loaves come out of the oven "
        "and the neighbours queue outside.",
    ],
    "bio_instagram": [
        "☕ coffee first · 🚴 weekend climbs · 📍 Lyon",
        "🌊 surf · 💻 remote · 🌅 golden hour chaser",
        "🌿 plants · 📚 books · ✈️ next stop Lisbon",
        "🥐 baker · 👨‍👩‍👧 family · 🏔 Vosges on Sundays",
    ],
    "bio_x": [
        "Opinions on bikes, rain and pastries. Mostly pastries.",
        "Shipping code and waves. Not always in that order.",
        "Former teacher. Current gardener. Forever curious.",
        "Bread is a verb. Also a noun. Mostly a way of life.",
    ],
    "bio_tiktok": [
        "My rides in 60 seconds 🚲",
        "Surf checks and desk setups 🏄",
        "Garden diaries, one season at a time 🌱",
        "Behind the counter at 4 am 🥖",
    ],
}
IMAGE_HOST = "https://avatar-data.s3.eu-west-3.amazonaws.com/avatars"


def sql_array(values: list[str]) -> str:
    """A literal SQL array of the bench's own constant strings (statements without parameters: `%` stays `%`)."""
    return "ARRAY[" + ",".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def load_users(cursor) -> None:
    cursor.execute(
        f"""INSERT INTO users (email, password_hash, created_at, is_active, is_staff, is_superuser)
           SELECT 'operator' || i || '@bench.example', '!', now() - i * interval '1 day', true, true, false
           FROM generate_series(1, {int(USERS)}) AS i
           UNION ALL SELECT 'root@bench.example', '!', now(), true, true, true"""
    )


def load_tasks(cursor, first: int, last: int, tasks: int, results: int) -> None:
    """Tasks number `first`..`last` of `tasks` in all. Task 1 is the staff user's 500-persona task; the others share
    the remaining results equally (their number_to_generate) and belong to the users in turn. Task ids are the
    numbers multiplied by an odd constant modulo 2³², so unique and random-looking."""
    rest = results - BIG_TASK_PERSONAS
    cursor.execute(
        f"""INSERT INTO generation_tasks (task_id, user_id, persona_description, bio_language, number_to_generate,
                                          images_per_persona, status, error_log, created_at, updated_at, completed_at)
            SELECT lpad(to_hex((k * 2654435761) % 4294967296), 8, '0'),
                   u.id,
                   ({sql_array(DESCRIPTIONS)})[1 + k % {len(DESCRIPTIONS)}],
                   (ARRAY['English','French','German','Spanish','Italian'])[1 + k % 5],
                   CASE WHEN k = 1 THEN {BIG_TASK_PERSONAS}
                        ELSE (k - 1)::bigint * {rest} / ({tasks} - 1) - (k - 2)::bigint * {rest} / ({tasks} - 1) END,
                   CASE WHEN k = 1 OR k % 3 > 0 THEN 8 ELSE 4 END,
                   s.status,
                   CASE WHEN s.status = 'failed' THEN 'batch 3: the model refused the prompt (3 tries)' END,
                   c.at, c.at + interval '20 minutes',
                   CASE WHEN s.status IN ('completed', 'failed') THEN c.at + interval '20 minutes' END
            FROM generate_series({int(first)}, {int(last)}) AS k
            CROSS JOIN LATERAL (SELECT CASE WHEN k = 1 THEN 'completed'
                                            WHEN k % 100 < 91 THEN 'completed'
                                            WHEN k % 100 < 95 THEN 'failed'
                                            WHEN k % 100 < 99 THEN 'generating-images'
                                            ELSE 'generating-data' END AS status) AS s
            CROSS JOIN LATERAL (SELECT now() - ({tasks} - k) * interval '7 minutes' AS at) AS c
            JOIN users u ON u.email = 'operator' || CASE WHEN k = 1 THEN 1 ELSE 1 + k % {USERS} END || '@bench.example'
            ORDER BY k"""
    )


def load_results(cursor, first_task_pk: int, last_task_pk: int) -> None:
    """Every persona of the tasks with ids in [first, last]: names, four bios, a base image and 4 or 8 image URLs
    (none yet for half the personas of a task still making images, and for a task still making data)."""
    bios = {field: sql_array(texts) for field, texts in BIOS.items()}
    images = {count: "jsonb_build_array(" + ", ".join(f"p.prefix || '{n}.jpg'" for n in range(1, count + 1)) + ")"
              for count in (4, 8)}  # fmt: skip
    cursor.execute(
        f"""INSERT INTO generation_results (task_id, batch_number, firstname, lastname, gender, bio_facebook,
                                            bio_instagram, bio_x, bio_tiktok, base_image_url, images, created_at)
            SELECT t.id, 1 + (n - 1) / 5,
                   ({sql_array(FIRSTNAMES.split())})[1 + (t.id * 7 + n * 13) % {len(FIRSTNAMES.split())}],
                   ({sql_array(LASTNAMES.split())})[1 + (t.id * 11 + n * 17) % {len(LASTNAMES.split())}],
                   CASE WHEN (t.id + n) % 2 = 0 THEN 'f' ELSE 'm' END,
                   ({bios["bio_facebook"]})[1 + (t.id + n) % 4], ({bios["bio_instagram"]})[1 + (t.id + n * 3) % 4],
                   ({bios["bio_x"]})[1 + (t.id * 3 + n) % 4], ({bios["bio_tiktok"]})[1 + (t.id + n * 5) % 4],
                   p.prefix || 'base.png',
                   CASE WHEN t.status = 'generating-data' OR (t.status = 'generating-images' AND n % 2 = 0) THEN NULL
                        WHEN t.images_per_persona = 4 THEN {images[4]} ELSE {images[8]} END,
                   t.created_at + n * interval '2 seconds'
            FROM generation_tasks t
            CROSS JOIN LATERAL generate_series(1, t.number_to_generate) AS n
            CROSS JOIN LATERAL (SELECT '{IMAGE_HOST}/' || t.task_id || '/' || n || '/' AS prefix) AS p
            WHERE t.id BETWEEN {int(first_task_pk)} AND {int(last_task_pk)}
            ORDER BY t.id, n"""
    )


def load_calls(cursor, calls: int, first_task_pk: int) -> None:
    """`calls` API call records, spread over a year, each for a persona of the tasks from `first_task_pk` on with its
    task's owner; kinds, outcomes and latencies varied."""
    cursor.execute(
        f"""INSERT INTO generation_api_calls (task_id, unit_id, result_id, user_id, kind, model, size, quality, outcome,
                                              http_status, latency_ms, text_input_tokens, image_input_tokens,
                                              text_output_tokens, image_output_tokens, images, cost_usd, priced,
                                              created_at)
            SELECT r.task_id, NULL, r.id, t.user_id,
                   (ARRAY['personas','base','grid','grid','replacement'])[1 + i % 5], 'gpt-image-2', '1024x1024',
                   'medium', CASE WHEN i % 50 = 0 THEN 'retried' ELSE 'ok' END, 200, 400 + (i * 37) % 9000,
                   300, 1040, 0, 1056, 1, 0.04 + (i % 7) * 0.001, true,
                   now() - (i % 365) * interval '1 day' - (i % 1440) * interval '1 minute'
            FROM (SELECT min(id) AS low, count(*) AS n FROM generation_results
                  WHERE task_id >= {int(first_task_pk)}) AS b
            CROSS JOIN generate_series(1, {int(calls)}) AS i
            JOIN generation_results r ON r.id = b.low + i % b.n
            JOIN generation_tasks t ON t.id = r.task_id"""
    )


def load_daily_usage(cursor) -> None:
    """The dashboard's roll-up, as the app would have added to it: tasks by the day they were made, personas and
    images by the day of their task, calls and cost by the day of the call."""
    cursor.execute("DELETE FROM generation_daily_usage")
    cursor.execute(
        """INSERT INTO generation_daily_usage (day, user_key, tasks, personas, images, calls, failed_calls, cost_usd)
           SELECT day, user_key, sum(tasks), sum(personas), sum(images), sum(calls), sum(failed), sum(cost) FROM (
               SELECT t.created_at::date AS day, t.user_id AS user_key, 1 AS tasks,
                      (SELECT count(*) FROM generation_results r WHERE r.task_id = t.id AND r.images IS NOT NULL)
                          AS personas,
                      (SELECT coalesce(sum(jsonb_array_length(r.images)), 0) FROM generation_results r
                          WHERE r.task_id = t.id AND r.images IS NOT NULL) AS images,
                      0 AS calls, 0 AS failed, 0 AS cost
               FROM generation_tasks t
               UNION ALL
               SELECT created_at::date, coalesce(user_id, 0), 0, 0, 0, count(*),
                      count(*) FILTER (WHERE outcome <> 'ok'), sum(cost_usd)
               FROM generation_api_calls GROUP BY 1, 2
           ) AS parts GROUP BY day, user_key"""
    )


def load(url: str, first: int, last: int, tasks: int, results: int, *, vacuum: bool) -> float:
    began = time.monotonic()
    with psycopg.connect(url, autocommit=False) as conn, conn.cursor() as cursor:
        if first == 1:
            load_users(cursor)
        cursor.execute("SELECT coalesce(max(id), 0) FROM generation_tasks")
        (before,) = cursor.fetchone()
        load_tasks(cursor, first, last, tasks, results)
        cursor.execute("SELECT max(id) FROM generation_tasks")
        (after,) = cursor.fetchone()
        load_results(cursor, before + 1, after)
        # As many calls as results, in both data sets: pages that show calls (the dashboard's top spenders) show
        # some in each, so that their query counts compare.
        cursor.execute("SELECT count(*) FROM generation_results WHERE task_id > %s", [before])
        load_calls(cursor, cursor.fetchone()[0], before + 1)
        load_daily_usage(cursor)
        if first == 1:  # the persona to look up by name, in the middle of task 2's
            cursor.execute(
                "UPDATE generation_results SET firstname = %s, lastname = %s "
                "WHERE id = (SELECT min(id) FROM generation_results WHERE task_id = %s)",
                [RARE_FIRSTNAME, RARE_LASTNAME, before + 2],
            )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        # The steady state of a live database, where autovacuum has been by (visibility map set) and statistics exist.
        conn.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")
    return time.monotonic() - began


# --- The pages --------------------------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    path: str
    as_superuser: bool
    on_small_db: bool = True  # False: a page the small data set does not have (a deep one), counted at scale only


def admin_pages_offered(label: str) -> int:
    """How many pages the admin's list of a model offers at most (EstimatedCountPaginator.num_pages)."""
    from generation.selectors.paging import DEEPEST_ROW  # the selectors need Django set up

    return -(-DEEPEST_ROW // admin.site.get_model_admin(apps.get_model(label)).list_per_page)


def pages(big_task_code: str, big_task_pk: int, task_count: int) -> list[Page]:
    from generation.selectors.paging import TASKS_PER_PAGE  # the selectors need Django set up

    results = "/admin/generation/generationresult/"
    tasks = "/admin/generation/generationtask/"
    tasks_per_admin_page = admin.site.get_model_admin(apps.get_model("generation.GenerationTask")).list_per_page
    # The page before the deepest one offered, or, with fewer tasks, the last one they fill.
    deep_task_page = min(admin_pages_offered("generation.GenerationTask") - 1, task_count // tasks_per_admin_page)
    deepest_result_page = admin_pages_offered("generation.GenerationResult")
    last_list_page = -(-task_count // TASKS_PER_PAGE)
    return [
        Page("staff /tasks/ (own tasks)", "/tasks/", False),
        Page("superuser /tasks/ (all tasks)", "/tasks/", True),
        # The oldest tasks: on the small data set the number is past the end, which answers the last page.
        Page("superuser /tasks/, last page", f"/tasks/?page={last_list_page}", True),
        Page("task page, 500 personas", f"/tasks/{big_task_code}/", False),
        Page("task page, live part, 500 personas", f"/tasks/{big_task_code}/live/", False),
        Page("task page, page 10, needs-a-look filter", f"/tasks/{big_task_code}/?page=10&verdict=look", False),
        Page("progress JSON, 500 personas", f"/tasks/{big_task_code}/progress/", False),
        Page("admin tasks, search", f"{tasks}?q=biarritz", True),
        Page("admin tasks, status filter", f"{tasks}?status__exact=failed", True),
        # Deep pages: an OFFSET over keys alone, and the last page offered (generation/selectors/paging.py DEEPEST_ROW).
        Page(f"admin tasks, a deep page ({deep_task_page})", f"{tasks}?p={deep_task_page}", True, on_small_db=False),
        Page(
            f"admin results, the deepest page offered ({deepest_result_page})",
            f"{results}?p={deepest_result_page}",
            True,
            on_small_db=False,
        ),  # fmt: skip
        Page("admin results, plain", results, True),
        Page("admin results, search by task id", f"{results}?q={big_task_code}", True),
        # A name over every result: the trigram indexes of migration 0014 find the one row without a scan.
        Page("admin results, name outside a task", f"{results}?q={RARE_LASTNAME}", True),
        Page("admin results, name in the 500-persona task", f"{results}?task__id__exact={big_task_pk}&q=Moreau", True),
        Page("admin results, gender filter", f"{results}?gender__exact=f", True),
        Page("staff /dashboard/ (own work)", "/dashboard/", False),
        Page("superuser /dashboard/ (everyone's)", "/dashboard/", True),
        Page("admin API calls, plain", "/admin/generation/apicall/", True),
        Page("admin API calls, kind filter", "/admin/generation/apicall/?kind__exact=grid", True),
        Page("admin API calls of the big task", f"/admin/generation/apicall/?task__id__exact={big_task_pk}", True),
    ]


def clients():
    from django.test import Client

    from accounts.models import User

    staff, root = Client(), Client()
    staff.force_login(User.objects.get(email="operator1@bench.example"))
    root.force_login(User.objects.get(email="root@bench.example"))
    return staff, root


def get(client, path: str):
    response = client.get(path, secure=True)  # secure: production settings redirect plain HTTP
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response


def query_count(client, path: str) -> tuple[int, list[tuple[float, str]]]:
    """How many queries one request makes, and the slowest three (seconds, SQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        get(client, path)
    slowest = sorted(((float(q["time"]), q["sql"]) for q in queries.captured_queries), reverse=True)[:3]
    return len(queries), slowest


def timed(client, path: str, repeats: int) -> list[float]:
    for _ in range(WARMUP):
        get(client, path)
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        get(client, path)
        times.append(time.perf_counter() - began)
    return times


def big_task(url: str) -> tuple[str, int]:
    """(task code, pk) of the 500-persona task."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT task_id, id FROM generation_tasks ORDER BY id LIMIT 1").fetchone()


def progress_subqueries() -> Figure:
    """EXPLAIN ANALYZE of the queries the superuser's task list page runs (selectors.task_list_page): what its
    correlated subqueries cost per listed task, each an index scan on its table's task index (the results' for the
    progress counts, the calls' for what a task spent)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from generation import selectors
    from generation.models import ApiCall, GenerationResult

    task_indexes = {
        model._meta.db_table: next(index.name for index in model._meta.indexes if index.fields[0] == "task")
        for model in (GenerationResult, ApiCall)
    }
    with CaptureQueriesContext(connection) as queries:
        selectors.task_list_page(User.objects.get(email="root@bench.example"), None, 1)
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query["sql"])
            plans.append(cursor.fetchone()[0][0])
    subplans = []

    def walk(node: dict) -> None:
        if node.get("Subplan Name"):
            scans = [child for child in node.get("Plans", []) if child.get("Index Name")]
            subplans.append(
                {
                    "subplan": node["Subplan Name"],
                    "loops": node["Actual Loops"],
                    "ms_per_task": node["Actual Total Time"],
                    "table": next((scan.get("Relation Name") for scan in scans), None),
                    "index": next((scan["Index Name"] for scan in scans), None),
                }
            )
        for child in node.get("Plans", []):
            walk(child)

    for plan in plans:
        walk(plan["Plan"])
    per_task = sum(subplan["ms_per_task"] for subplan in subplans)
    on_task_index = all(
        subplan["table"] in task_indexes and subplan["index"] == task_indexes[subplan["table"]] for subplan in subplans
    )
    return Figure(
        bench=BENCH,
        name="task list subqueries (EXPLAIN ANALYZE of task_list_page), per listed task",
        value=per_task,
        unit="ms",
        target="task index scans, ≤ 0.25 ms per task",
        ok=bool(subplans) and per_task <= 0.25 and on_task_index,
        details={
            "queries": len(plans),
            "execution_ms": [plan["Execution Time"] for plan in plans],
            "subplans": subplans,
            "task_indexes": task_indexes,
        },
    )


def run(quick: bool) -> list[Figure]:
    tasks, results = SCALES[quick]
    figures: list[Figure] = []
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database("bench_pages"))
        small_seconds = load(url, 1, SMALL_TASKS, tasks, results, vacuum=False)
        with psycopg.connect(url) as conn:
            (small_rows,) = conn.execute("SELECT count(*) FROM generation_results").fetchone()
        stack.enter_context(django_on(url))
        staff, root = clients()
        listed = pages(*big_task(url), tasks)
        counts_small = {}
        for page in listed:
            if not page.on_small_db:
                continue
            client = root if page.as_superuser else staff
            get(client, page.path)  # first-request costs (content types, session) out of the count
            counts_small[page.name] = query_count(client, page.path)[0]
        close_django_connections()
        bulk_seconds = load(url, SMALL_TASKS + 1, tasks, tasks, results, vacuum=True)
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT (SELECT count(*) FROM generation_tasks), "
                                "(SELECT count(*) FROM generation_results), "
                                "(SELECT count(*) FROM generation_api_calls)").fetchone()  # fmt: skip
            size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('generation_results'))").fetchone()[0]
        print(f"   loaded {rows[0]:,} tasks, {rows[1]:,} results ({size}) and {rows[2]:,} API calls in "
              f"{small_seconds + bulk_seconds:.1f} s")  # fmt: skip
        grew, fewer = {}, {}
        for page in listed:
            client = root if page.as_superuser else staff
            get(client, page.path)
            count, slowest = query_count(client, page.path)
            times = timed(client, page.path, REQUESTS[quick])
            p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
            small = counts_small.get(page.name, count)
            if count > small:
                grew[page.name] = (small, count)
            elif count < small:  # the admin's estimated count replaced COUNT(*)
                fewer[page.name] = (small, count)
            figures.append(
                Figure(
                    bench=BENCH,
                    name=f"{page.name}: p95",
                    value=p95,
                    unit="ms",
                    limit=TARGET_MS,
                    target=f"p95 < {TARGET_MS:.0f} ms",
                    ok=p95 < TARGET_MS,
                    details={
                        "path": page.path,
                        "p50_ms": round(p50, 1),
                        "max_ms": round(max(times) * 1000, 1),
                        "requests": len(times),
                        "queries": count,
                        "queries_small_db": counts_small.get(page.name),
                        "slowest_queries": [(round(seconds * 1000, 1), sql[:300]) for seconds, sql in slowest],
                        "tasks": rows[0],
                        "results": rows[1],
                    },
                )
            )
            print(f"   {page.name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {count} queries", flush=True)
        figures.append(
            Figure(
                bench=BENCH,
                name=f"pages whose query count grew from {small_rows:,} to {rows[1]:,} results",
                value=len(grew),
                unit="pages",
                target="0: independent of rows",
                ok=not grew,
                details={"grew": grew, "fewer": fewer, "counts_small_db": counts_small},
            )
        )
        figures.append(progress_subqueries())
    return figures


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "avatar_project.settings")
    for figure in run(quick="--full" not in sys.argv):  # python -m bench.pages [--full]
        print(figure)
