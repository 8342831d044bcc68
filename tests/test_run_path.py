"""How many files a newcomer opens to read one images unit's run, from `stages.run_unit` through the images stage.

The count, read from the source with `ast`:
- the path is `stages.run_unit`, less the branches of the other unit kinds, and `images.run_images` with every
  function of images.py it calls or hands to the worker's threads;
- a file is entered when the path uses a name imported from it, or a module-level alias of such a name;
- a name used only as a type, or only caught in an `except`, is not entered: nothing of its file runs on the path;
- a package that exposes its verbs in its `__init__` (the lifecycle) is one file, the one its callers import;
- Python's and Django's own modules are not counted."""

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("generation", "accounts", "siteconfig", "avatar_project")
OTHER_KINDS = {"run_batch", "run_new_bios", "run_new_photos", "run_new_image"}
MOST_FILES = 8


class Module:
    def __init__(self, name: str):
        self.name = name
        self.path = Path(importlib.util.find_spec(name).origin)
        self.tree = ast.parse(self.path.read_text(), filename=str(self.path))
        self.functions = {
            node.name: node for node in self.tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.aliases = {
            target.id: node.value
            for node in self.tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        self.imports: dict[str, str] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    is_module = importlib.util.find_spec(submodule) if _is_package(node.module) else None
                    self.imports[alias.asname or alias.name] = submodule if is_module else node.module
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name.partition(".")[0]] = alias.name


def _is_package(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None


def names_used(node: ast.AST) -> set[str]:
    """Names read in `node`, leaving out annotations and the exception types of `except` clauses."""
    skipped: set[int] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.ExceptHandler) and inner.type is not None:
            skipped.update(id(part) for part in ast.walk(inner.type))
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations = [inner.returns, *(arg.annotation for arg in ast.walk(inner.args) if isinstance(arg, ast.arg))]
            skipped.update(id(part) for annotation in annotations if annotation for part in ast.walk(annotation))
        if isinstance(inner, ast.AnnAssign):
            skipped.update(id(part) for part in ast.walk(inner.annotation))
    return {
        inner.id
        for inner in ast.walk(node)
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) and id(inner) not in skipped
    }


def files_entered(module: Module, start: list[str], leave_out: set[str]) -> set[str]:
    """The project modules the path through `start` (functions of `module`) enters, `module` itself included."""
    entered = {module.name}
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in seen or name in leave_out:
            continue
        seen.add(name)
        if name in module.functions:
            todo += names_used(module.functions[name])
        elif name in module.aliases:
            todo += names_used(module.aliases[name])
        elif name in module.imports and module.imports[name].startswith(PROJECT):
            entered.add(module.imports[name])
    return entered


def run_path() -> set[str]:
    stages = Module("generation.pipeline.stages")
    images = Module("generation.pipeline.images")
    return files_entered(stages, ["run_unit"], OTHER_KINDS) | files_entered(images, ["run_images"], set())


def test_one_images_unit_is_read_through_at_most_eight_files():
    entered = run_path()
    assert "generation.pipeline.images" in entered and "generation.pipeline.lifecycle" in entered
    assert len(entered) <= MOST_FILES, sorted(entered)


def test_the_count_sees_a_module_the_path_starts_to_use(tmp_path):
    """The check can fail: images.py as it would be with one more room called from the stage."""
    images = Module("generation.pipeline.images")
    images.imports["storage"] = "generation.integrations.storage"
    images.functions["run_images"].body.insert(0, ast.parse("storage.url('x')").body[0])
    assert "generation.integrations.storage" in files_entered(images, ["run_images"], set())
