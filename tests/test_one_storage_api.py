"""One storage API (issue 21): only generation/integrations/storage.py turns one of our URLs into a key or talks to
Django's default storage. The rest of the code, the bench and the test kit included, asks it in domain words
(open_image(url), keys_of(result), reference_faces(gender), ...), so that the key scheme lives in one file."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("generation", "accounts", "siteconfig", "avatar_project", "bench", "testkit")
STORAGE = ROOT / "generation" / "integrations" / "storage.py"
STORAGE_ONLY = {"key_from_url", "default_storage"}


def uses(path: Path):
    """(name, line) of each use of a storage-only name: as an attribute, a bare name, or an imported name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in STORAGE_ONLY:
            yield node.attr, node.lineno
        elif isinstance(node, ast.Name) and node.id in STORAGE_ONLY:
            yield node.id, node.lineno
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in STORAGE_ONLY:
                    yield alias.name, node.lineno


def test_only_the_storage_integration_turns_urls_into_keys_or_reads_the_default_storage():
    found = [
        f"{path.relative_to(ROOT)}:{line} uses {name}"
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != STORAGE and "migrations" not in path.parts
        for name, line in uses(path)
    ]
    assert found == []
