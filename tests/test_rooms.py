"""The house rules of the layout (README, "Rooms"): imports at the top of their module, files of a size one can
read, and a generation/ whose top level a newcomer can take in. lint-imports (.ci/run) checks the direction of
the imports; this reads the source itself."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("generation", "accounts", "siteconfig", "avatar_project")

# Imports written inside a function, each with the reason it cannot sit at the top of its module. None of them
# dodges an import cycle: lint-imports would see the cycle, as it counts these imports too.
ALLOWED_LATE_IMPORTS = {
    # Start-up hooks: they run once the app registry is ready, and apps.py itself is imported before any model
    # can be. The worker preparation imports the pipeline once before django-q2 forks, so no worker pays for it.
    ("generation/apps.py", "ready"): "system checks and the costs' backend plan register once the registry is ready",
    ("generation/apps.py", "prepare_for_workers"): "imports the pipeline in the cluster's parent, before the fork",
    ("generation/apps.py", "restore_sweep_schedules"): "the lifecycle imports models, which apps.py may not",
    # dlib is a large native library: only processes that check faces load it, on the first check.
    ("generation/integrations/face_model.py", "load"): "dlib loads on the first face check, not at import",
    ("generation/integrations/face_model.py", "read"): "dlib loads on the first face check, not at import",
}


def python_files(*folders: str):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def late_imports(path: Path):
    """(function name, line) of each import statement inside a function body."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    yield function.name, node.lineno


def test_imports_sit_at_the_top_of_their_module_but_for_the_listed_start_up_hooks():
    found = set()
    for path in python_files(*APPS):
        relative = path.relative_to(ROOT).as_posix()
        for function, line in late_imports(path):
            if (relative, function) not in ALLOWED_LATE_IMPORTS:
                found.add(f"{relative}:{line} in {function}()")
    assert sorted(found) == []


def test_every_listed_late_import_is_still_there():
    """An exception that no longer applies is removed from the list, so the list stays the truth."""
    present = {
        (path.relative_to(ROOT).as_posix(), function)
        for path in python_files(*APPS)
        for function, _ in late_imports(path)
    }
    assert sorted(set(ALLOWED_LATE_IMPORTS) - present) == []


def test_no_module_of_the_apps_is_over_400_lines_and_none_of_bench_or_testkit_over_600():
    too_long = []
    for folders, limit in ((APPS, 400), (("bench", "testkit"), 600)):
        for path in python_files(*folders):
            lines = len(path.read_text().splitlines())
            if lines > limit:
                too_long.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {limit})")
    assert too_long == []


def test_the_top_level_of_generation_holds_at_most_14_modules_and_packages():
    entries = sorted(
        entry.name
        for entry in (ROOT / "generation").iterdir()
        if entry.name != "__pycache__" and (entry.suffix == ".py" or (entry / "__init__.py").exists())
    )
    assert len(entries) <= 14, entries
