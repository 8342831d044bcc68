"""The images stage's threads: one pool per worker process, kept across units, made anew after a fork."""

from __future__ import annotations

import os

from generation.pipeline import images


def test_a_process_keeps_one_pool_of_image_threads_across_units(settings):
    settings.IMAGE_THREADS = 3
    first = images.threads()
    assert images.threads() is first
    assert first.submit(lambda: 6 * 7).result(timeout=5) == 42


def test_a_forked_worker_makes_its_own_pool_rather_than_use_its_parents(monkeypatch):
    parent = images.threads()
    monkeypatch.setattr(images, "_pool", images._pool)  # the process' own pool comes back after the test
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as in a child after fork: the parent's threads are not there
    child = images.threads()
    assert child is not parent
    assert child.submit(lambda: "runs").result(timeout=5) == "runs"
