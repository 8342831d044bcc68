"""A child for django_call (bench/harness/children.py): `python -m bench.harness`, Django set up on the
environment it was started with, answering one JSON call a line on stdin, "module:function" with its kwargs, with
one answer a line on stdout."""

from __future__ import annotations

import importlib
import json
import sys
import traceback

import django

from bench.harness.children import RESULT_MARK


def main() -> None:
    django.setup()
    for line in sys.stdin:
        call = json.loads(line)
        module, function = call["target"].split(":")
        try:
            answer = {"result": getattr(importlib.import_module(module), function)(**call["kwargs"])}
        except Exception:
            answer = {"error": traceback.format_exc()}
        print(RESULT_MARK + json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
