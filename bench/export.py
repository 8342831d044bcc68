"""6. Export: the ZIP of a task's personas with their images, streamed by `services.exports.zip_archive` to a null
sink: MB/s, and the peak memory of the process doing it, which must not grow with the task's size (500 personas
against 50, each with 8 tiles and a base image). Also the CSV and JSON exports' throughput, in rows/s.

Storage is a local FileSystemStorage under a temporary MEDIA_ROOT (not moto's S3: the figures are then about the app's
streaming, not about moto). The files are realistic in size (tiles: 512×512 JPEG q90 of photo-like pictures, ~50 KB;
bases: a 1024×1024 PNG, as the image API returns it, ~1.2 MB), and each persona's are hard links to the same nine
files, so the bench writes 2 MB instead of 900 MB; the reads come from the page cache, as on a server exporting what
it has just made.

Each export runs in a fresh subprocess (Django set up against the bench's own database, `bench_export_<random>`),
after a one-persona warm-up export. Its peak RSS is the kernel's high-water mark, reset just before the export (see
peak_rss_kb for why not ru_maxrss as such); the limit is the 50-persona export's. RSS moves in pages and arenas, so the
same export is then run again under tracemalloc for the exact peak of Python's heap: what it gains per extra file is
the ZIP's central directory (every file's name, size, CRC and offset, kept for the end of the archive)."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from io import BytesIO
from pathlib import Path

import psycopg

from bench.common import Figure
from bench.pages import ROOT, bench_env, scratch_database

BENCH = "6 export"
SIZES = (50, 500)  # personas: the limit's and the value's
IMAGES = 8
TARGET_RATIO = 1.2
TEXT_REPEATS = {False: 10, True: 3}


def sample_files(folder: Path) -> dict[str, Path]:
    """One base PNG and eight different tile JPEGs to link every persona's files to."""
    from PIL import Image

    from bench.grid import photo_tile

    rng = random.Random(6)
    files = {"base.png": folder / "base.png"}
    photo_tile((1024, 1024), rng).save(files["base.png"], "PNG")
    for n in range(1, IMAGES + 1):
        files[f"{n}.jpg"] = folder / f"{n}.jpg"
        out = BytesIO()
        photo_tile((512, 512), rng, grain=0.3).save(out, "JPEG", quality=90)
        files[f"{n}.jpg"].write_bytes(out.getvalue())
    Image.open(files["base.png"]).verify()
    return files


def load(url: str, media: Path, files: dict[str, Path]) -> dict[int, int]:
    """Tasks of 1 (the warm-up), 50 and 500 personas with their stored files; {personas: task pk}."""
    tasks = {}
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users (email, password_hash, created_at, is_active, is_staff, is_superuser) "
            "VALUES ('exporter@bench.example', '!', now(), true, true, false) RETURNING id"
        )
        (user,) = cursor.fetchone()
        for personas in (1, *SIZES):
            cursor.execute(
                "INSERT INTO generation_tasks (task_id, user_id, persona_description, bio_language, "
                "number_to_generate, images_per_persona, status, completed_at) "
                "VALUES (%s, %s, 'Amateur cyclists in their thirties who live in Lyon', 'French', %s, %s, 'completed', "
                "now()) RETURNING id",
                [f"exp{personas:05d}", user, personas, IMAGES],
            )
            (task,) = cursor.fetchone()
            tasks[personas] = task
            cursor.execute(
                """INSERT INTO generation_results (task_id, batch_number, firstname, lastname, gender, bio_facebook,
                                                   bio_instagram, bio_x, bio_tiktok)
                   SELECT %s, 1 + (n - 1) / 5, (ARRAY['Camille','Léa','Hugo','Jules','Inès'])[1 + n %% 5],
                          (ARRAY['Martin','Dubois','Moreau','Lefèvre','Garcia','Roux','Fournier'])[1 + n %% 7],
                          CASE WHEN n %% 2 = 0 THEN 'f' ELSE 'm' END,
                          'Cycliste du dimanche, amoureuse des cols alpins et des cafés de quartier à Lyon.',
                          '🚴 Lyon · café · col du Galibier', 'Je parle vélo, pluie et pâtisseries.',
                          'Mes sorties vélo en 60 s 🚲'
                   FROM generate_series(1, %s) AS n""",
                [task, personas],
            )
        conn.commit()
    place(url, media, files)
    return tasks


def place(url: str, media: Path, files: dict[str, Path]) -> None:
    """Give every persona its files, where and under the URLs the storage itself says (a subprocess with Django set
    up, as the exports' own)."""
    env = bench_env(url, MEDIA_ROOT=str(media), AWS_STORAGE_BUCKET_NAME="")
    args = json.dumps({name: str(path) for name, path in files.items()})
    subprocess.run([sys.executable, "-m", "bench.export", "--place", args], cwd=ROOT, env=env, check=True)


def place_files(files: dict[str, str]) -> None:
    """In the subprocess: each persona's base and tiles are hard links to the sample files (copies where the file
    system has no links), at the keys and URLs of generation.integrations.storage."""
    import django

    django.setup()
    from generation.integrations import storage
    from generation.models import GenerationResult

    results = list(GenerationResult.objects.select_related("task"))
    for result in results:
        code = result.task.task_code
        keys = {"base.png": storage.base_key(code, result.pk, "png")}
        keys |= {f"{n}.jpg": storage.tile_key(code, result.pk, n) for n in range(1, IMAGES + 1)}
        for name, key in keys.items():
            target = storage.local_path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(files[name], target)
            except OSError:  # a file system without hard links
                shutil.copyfile(files[name], target)
        result.base_image_url = storage.url(keys.pop("base.png"))
        result.images = [storage.url(key) for key in keys.values()]
    GenerationResult.objects.bulk_update(results, ["base_image_url", "images"], batch_size=500)


def measure(url: str, media: Path, task: int, warmup: int, repeats: int) -> dict:
    """Run the export of task `task` in a fresh process; what it reports."""
    env = bench_env(url, MEDIA_ROOT=str(media), AWS_STORAGE_BUCKET_NAME="")
    args = json.dumps({"task": task, "warmup": warmup, "repeats": repeats})
    done = subprocess.run(
        [sys.executable, "-m", "bench.export", "--child", args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_kb() -> tuple[int, int]:
    """(current RSS, peak RSS) of this process in KB.

    The peak is ru_maxrss where /proc cannot tell more. On Linux it is VmHWM instead, the same high-water mark but
    without what ru_maxrss adds: after fork and exec, ru_maxrss starts at the parent's RSS (the kernel carries the old
    address space's peak over exec), so a worker started by a big process would report the parent's size."""
    try:
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak, peak


def reset_peak_rss() -> None:
    """Make the peak RSS the current RSS (Linux: /proc/self/clear_refs), so that the peak after the export is what
    the export itself added, not how far start-up (imports, Django's set-up) once went above the steady state."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def child(args: dict) -> dict:
    """In the subprocess: warm up on the one-persona task, then export `task` as a ZIP (timed, then again under
    tracemalloc for the exact peak of Python's heap), a CSV and a JSON."""
    import django

    django.setup()
    from generation.models import GenerationTask
    from generation.services import exports

    def drain(chunks) -> int:
        return sum(len(chunk) for chunk in chunks)

    warm = GenerationTask.objects.get(pk=args["warmup"])
    drain(exports.zip_archive(warm))
    drain(exports.csv_rows(warm))
    drain(exports.json_document(warm))
    task = GenerationTask.objects.get(pk=args["task"])
    gc.collect()
    reset_peak_rss()
    before, _ = peak_rss_kb()
    began = time.perf_counter()
    size = drain(exports.zip_archive(task))
    seconds = time.perf_counter() - began
    _, peak = peak_rss_kb()
    tracemalloc.start()
    drain(exports.zip_archive(task))
    heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows = task.results.count()
    text = {}
    for name, make in (("csv", exports.csv_rows), ("json", exports.json_document)):
        times = []
        for _ in range(args["repeats"]):
            began = time.perf_counter()
            drain(make(task))
            times.append(time.perf_counter() - began)
        text[name] = statistics.median(times)
    return {
        "zip_bytes": size,
        "zip_seconds": seconds,
        "rss_before_kb": before,
        "peak_rss_kb": peak,
        "heap_peak_kb": heap_peak // 1024,
        "rows": rows,
        "files": rows * (IMAGES + 2) + 2,  # base, images and persona.json each, and the CSV and JSON
        "csv_seconds": text["csv"],
        "json_seconds": text["json"],
    }


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench_export_") as temp, scratch_database("bench_export") as url:
        media = Path(temp) / "media"
        files = sample_files(Path(temp))
        tasks = load(url, media, files)
        base_kb = files["base.png"].stat().st_size / 1024
        tile_kb = statistics.mean(path.stat().st_size for name, path in files.items() if name != "base.png") / 1024
        runs = {size: measure(url, media, tasks[size], tasks[1], TEXT_REPEATS[quick]) for size in SIZES}
    small, large = (runs[size] for size in SIZES)
    files = {size: run["files"] for size, run in runs.items()}
    details = {"base_kb": round(base_kb), "tile_kb": round(tile_kb)} | {
        f"{size}_personas": {
            "files": r["files"],
            "zip_mb": round(r["zip_bytes"] / 1e6, 1),
            "zip_seconds": round(r["zip_seconds"], 3),
            "mb_per_s": round(r["zip_bytes"] / r["zip_seconds"] / 1e6, 1),
            "rss_before_kb": r["rss_before_kb"],
            "peak_rss_kb": r["peak_rss_kb"],
            "peak_rss_growth_kb": r["peak_rss_kb"] - r["rss_before_kb"],
            "heap_peak_kb": r["heap_peak_kb"],
        }
        for size, r in runs.items()
    }
    per_file = (large["heap_peak_kb"] - small["heap_peak_kb"]) / (files[SIZES[1]] - files[SIZES[0]])
    heaps = {f"{size}_personas": {"files": files[size], "heap_peak_kb": runs[size]["heap_peak_kb"]} for size in SIZES}
    return [
        Figure(
            bench=BENCH,
            name=f"ZIP of {SIZES[1]} personas × {IMAGES} images + base: throughput",
            value=large["zip_bytes"] / large["zip_seconds"] / 1e6,
            unit="MB/s",
            details=details,
        ),
        Figure(
            bench=BENCH,
            name=f"ZIP: exporting worker's peak RSS, {SIZES[1]} personas (limit: {SIZES[0]} personas)",
            value=large["peak_rss_kb"] / 1024,
            unit="MB",
            limit=small["peak_rss_kb"] / 1024,
            target=f"≤ {TARGET_RATIO}× the {SIZES[0]}-persona peak",
            ok=large["peak_rss_kb"] <= TARGET_RATIO * small["peak_rss_kb"],
            details=details,
        ),
        Figure(
            bench=BENCH,
            name=f"ZIP: Python heap peak (tracemalloc), {SIZES[1]} personas (limit: {SIZES[0]} personas)",
            value=large["heap_peak_kb"] / 1024,
            unit="MB",
            limit=small["heap_peak_kb"] / 1024,
            target="grows by the ZIP's central directory only (≤ 1 KB a file)",
            ok=per_file <= 1.0,
            details={"kb_per_extra_file": round(per_file, 3)} | heaps,
        ),
        Figure(
            bench=BENCH,
            name=f"CSV export, {SIZES[1]} personas",
            value=large["rows"] / large["csv_seconds"],
            unit="rows/s",
            details={"seconds": large["csv_seconds"], "rows_per_s_50_personas": small["rows"] / small["csv_seconds"]},
        ),
        Figure(
            bench=BENCH,
            name=f"JSON export, {SIZES[1]} personas",
            value=large["rows"] / large["json_seconds"],
            unit="rows/s",
            details={"seconds": large["json_seconds"], "rows_per_s_50_personas": small["rows"] / small["json_seconds"]},
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(json.loads(sys.argv[2]))))
    elif sys.argv[1:2] == ["--place"]:
        place_files(json.loads(sys.argv[2]))
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "avatar_project.settings")
        for figure in run(quick="--full" not in sys.argv):
            print(figure)
