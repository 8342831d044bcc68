"""Content Credentials through the pipeline and `verify_provenance`: tasks run with the real OpenAI client against
the loopback server and stored in moto's S3 server; files are fetched back by their URLs, and spoiled in the
bucket the way a third party could."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image, ImageChops

from generation import selectors
from generation.integrations import provenance, storage
from generation.integrations.provenance import records
from generation.integrations.provenance.credentials import issue
from generation.models import GenerationResult, GenerationTask, ImageCredential, PipelineUnit
from generation.pipeline import lifecycle
from generation.pipeline.stages import run_inline, run_unit
from generation.selectors import explain
from testkit import faces
from testkit.factories import make_user
from testkit.provenance import PROVIDER, provider_signer
from testkit.servers import ROOT, database_url
from tests.generation.helpers import assert_task_stored_completely, fetch_image, run_first_persona, submit
from tests.generation.test_provenance import flip_pixel_byte

pytestmark = pytest.mark.django_db(transaction=True)


def verify(task: GenerationTask) -> tuple[str, str]:
    """verify_provenance's output and, when it failed, its error."""
    out = io.StringIO()
    try:
        call_command("verify_provenance", task.task_code, stdout=out)
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), ""


def replace_in_bucket(bucket, key: str, data: bytes) -> None:
    bucket.client().put_object(Bucket=bucket.name, Key=key, Body=data)


def finished_task(number: int = 2) -> GenerationTask:
    task = submit(number_to_generate=number, images_per_persona=4, user=make_user(is_staff=True))
    run_inline(task)
    task.refresh_from_db()
    return task


def test_grids_that_carry_the_providers_manifest_hand_it_on_to_every_tile(fake_openai, s3_bucket):
    fake_openai.sign_images = provider_signer()
    task = finished_task()
    assert_task_stored_completely(task, s3_bucket)  # every file signed and read back by URL
    for result in task.results.all():
        base = provenance.read(fetch_image(result.base_image_url)[1])
        (answer,) = base.ingredients
        assert answer["relationship"] == "componentOf"
        assert answer["manifest"]["claim_generator_info"][0]["name"] == PROVIDER
        for url in result.images:
            tile = provenance.read(fetch_image(url)[1])
            (grid,) = tile.ingredients
            assert (grid["title"], grid["relationship"]) == ("photo grid", "parentOf")
            assert grid["manifest"]["claim_generator_info"][0]["name"] == PROVIDER


def test_a_grid_with_a_broken_manifest_of_its_own_still_gives_signed_tiles_that_say_so(fake_openai, s3_bucket):
    provider = provider_signer()

    def broken(data: bytes) -> bytes:
        signed = provider(data)
        at = signed.find(b"jumb") + 200  # inside the provider's manifest
        return signed[:at] + bytes([signed[at] ^ 0xFF]) + signed[at + 1 :]

    fake_openai.sign_images = broken
    task = finished_task(1)
    assert_task_stored_completely(task, s3_bucket)
    tile = provenance.read(fetch_image(task.results.get().images[0])[1])
    assert tile.actions == ["c2pa.created", "c2pa.cropped"]
    assert tile.ours["parent"] == "photo grid" and tile.ours["parent_credentials"] == "unreadable"
    assert verify(task)[1] == ""


def test_a_base_c2pa_cannot_parse_as_sent_is_stored_as_a_signed_lossless_png(fake_openai, s3_bucket, settings):
    settings.OPENAI_OUTPUT_FORMAT = "png"
    sent = io.BytesIO()
    faces.astronaut().convert("RGB").resize((1024, 1024)).save(sent, "PNG")
    without_end = sent.getvalue()[:-12]  # no IEND chunk: Pillow reads it, c2pa refuses to write into it
    fake_openai.send_next_image("/images/generations", without_end)
    task = finished_task(1)
    assert_task_stored_completely(task, s3_bucket)
    base, data = fetch_image(task.results.get().base_image_url)
    assert task.results.get().base_image_url.endswith("/base.png") and data.endswith(b"IEND\xaeB`\x82")
    sent_pixels = Image.open(io.BytesIO(without_end)).convert("RGB")
    assert ImageChops.difference(base.convert("RGB"), sent_pixels).getbbox() is None  # the same pixels, losslessly


def test_verify_provenance_prints_one_line_per_file_and_a_summary_for_a_signed_task(fake_openai, s3_bucket):
    task = finished_task()
    output, error = verify(task)
    files = 2 * 5 * (1 + len(storage.THUMBNAIL_WIDTHS))
    lines = output.splitlines()
    assert error == ""
    assert sum(line.startswith("ok ") for line in lines) == files
    assert lines[-1] == f"Task {task.task_code}: {files} files, {files} verified, 0 failed."
    assert any(line.endswith("base.jpg  created · trusted") for line in lines)
    assert ImageCredential.objects.filter(task=task, checked_by=records.VERIFYING, verdict="verified").count() == files


def test_a_byte_flipped_in_a_stored_file_fails_verification_naming_that_file(fake_openai, s3_bucket):
    task = finished_task()
    key = storage.key_from_url(task.results.order_by("pk").first().images[2])
    replace_in_bucket(s3_bucket, key, flip_pixel_byte(storage.read(key)))
    output, error = verify(task)
    (failed,) = [line for line in output.splitlines() if not line.startswith(("ok ", "Signed by", "Task "))]
    assert failed.startswith(f"INVALID  {key}  ") and "assertion.dataHash.mismatch" in failed
    assert error == "1 file(s) have invalid or missing Content Credentials (see above)."
    row = ImageCredential.objects.get(key=key)
    assert (row.verdict, row.checked_by) == ("invalid", records.VERIFYING)
    state = selectors.task_state(task)
    assert selectors.credentials_summary(task, state).statement.startswith(
        "Content Credentials: 1 of 30 files failed verification"
    )


def test_a_stored_file_re_saved_without_metadata_fails_verification_as_missing(fake_openai, s3_bucket):
    task = finished_task(1)
    key = storage.thumbnail_key(storage.key_from_url(task.results.get().base_image_url), 256)
    stripped = io.BytesIO()
    Image.open(io.BytesIO(storage.read(key))).save(stripped, "WEBP")
    replace_in_bucket(s3_bucket, key, stripped.getvalue())
    output, error = verify(task)
    assert f"MISSING  {key}  no Content Credentials (the manifest is missing or was stripped)" in output
    assert error
    assert ImageCredential.objects.get(key=key).verdict == "missing"


def test_a_file_deleted_from_the_bucket_fails_verification(fake_openai, s3_bucket):
    task = finished_task(1)
    key = storage.key_from_url(task.results.get().images[0])
    s3_bucket.client().delete_object(Bucket=s3_bucket.name, Key=key)
    output, error = verify(task)
    assert f"MISSING  {key}  missing from the storage" in output and error
    assert ImageCredential.objects.get(key=key).verdict == "missing"


def test_verify_provenance_names_an_unknown_task():
    with pytest.raises(CommandError, match="No task 'nope1234'"):
        call_command("verify_provenance", "nope1234")


def test_the_task_page_says_verified_from_the_rows_kept_when_files_were_stored(
    fake_openai, s3_bucket, client, monkeypatch
):
    task = finished_task()
    client.force_login(task.user)

    def no_download(key):
        raise AssertionError(f"the page read {key}")

    monkeypatch.setattr(storage, "read", no_download)
    page = client.get(f"/tasks/{task.task_code}/")
    assert page.status_code == 200
    assert "Content Credentials: verified (30 files signed, AI-generated)" in page.content.decode()


def test_no_task_starts_while_images_cannot_be_signed(settings, tmp_path):
    settings.C2PA_SIGNING_CERT = str(tmp_path / "gone.pem")
    provenance._credentials.cache_clear()
    try:
        with pytest.raises(ValidationError, match="could not be signed: The signing certificate file"):
            submit()
    finally:
        provenance._credentials.cache_clear()
    assert not GenerationTask.objects.exists()


def test_exports_carry_the_task_pages_statement_and_each_personas_state(fake_openai, s3_bucket, client):
    import csv
    import json

    task = finished_task()
    client.force_login(task.user)
    document = json.loads(b"".join(client.get(f"/tasks/{task.task_code}/export.json").streaming_content))
    assert document["task"]["content_credentials"] | {"last_checked_at": None} == {
        "state": "verified",
        "statement": "Content Credentials: verified (30 files signed, AI-generated)",
        "files": 30,
        "verified": 30,
        "last_checked_at": None,
    }
    assert [persona["content_credentials"] for persona in document["personas"]] == ["verified", "verified"]

    first = task.results.order_by("pk").first()
    key = storage.key_from_url(first.images[0])
    replace_in_bucket(s3_bucket, key, flip_pixel_byte(storage.read(key)))
    verify(task)
    body = b"".join(client.get(f"/tasks/{task.task_code}/export.csv").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["content_credentials"] for row in rows] == ["failed", "verified"]


def use_credentials(settings, tmp_path, issued) -> None:
    (tmp_path / "chain.pem").write_bytes(issued.chain_pem)
    (tmp_path / "key.pem").write_bytes(issued.key_pem)
    settings.C2PA_SIGNING_CERT, settings.C2PA_SIGNING_KEY = str(tmp_path / "chain.pem"), str(tmp_path / "key.pem")
    provenance._credentials.cache_clear()


def test_a_certificate_that_expires_while_a_worker_runs_stops_the_task_before_any_image_is_paid_for(
    fake_openai, s3_bucket, settings, tmp_path
):
    now = dt.datetime.now(dt.UTC)
    use_credentials(settings, tmp_path, issue("Short-lived", not_after=now + dt.timedelta(seconds=2)))
    try:
        task = submit(number_to_generate=2, images_per_persona=4)  # accepted: the certificate is valid now
        time.sleep(2.5)
        run_inline(task)
    finally:
        provenance._credentials.cache_clear()
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED
    assert "Images cannot be signed: The signing certificate 'Short-lived signer' expired on" in task.error_log
    assert fake_openai.calls("/images/generations") == [] and s3_bucket.keys("avatars/") == []
    assert explain.explain(task.error_log).cause.startswith("Images could not be signed")


def test_verify_provenance_needs_no_signing_key_and_says_plainly_when_the_trust_anchors_are_not_certificates(
    fake_openai, s3_bucket, tmp_path
):
    task = finished_task(1)
    env = os.environ | s3_bucket.env() | {"DATABASE_URL": database_url(), "DEBUG": "true"}
    env |= {"C2PA_SIGNING_CERT": str(tmp_path / "not-on-this-machine.pem")}  # a verifier's machine
    command = [sys.executable, "manage.py", "verify_provenance", task.task_code]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"Task {task.task_code}: 15 files, 15 verified, 0 failed."

    (tmp_path / "anchors.pem").write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    env["C2PA_TRUST_ANCHORS"] = str(tmp_path / "anchors.pem")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "C2PA_TRUST_ANCHORS is not a list of PEM certificates" in done.stderr and "Traceback" not in done.stderr
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "generation.E002" in check.stderr and "C2PA_TRUST_ANCHORS is not a list of PEM certificates" in check.stderr


def test_verify_provenance_drops_the_rows_of_files_no_persona_points_to(fake_openai, s3_bucket):
    task = finished_task(1)
    result = task.results.get()
    orphan = ImageCredential.objects.filter(task=task).first()
    ImageCredential.objects.create(
        task=task,
        result=result,
        key=f"avatars/{task.task_code}/{result.pk}/7.jpg",
        sha256="0" * 64,
        size=1,
        verdict="verified",
        signed_at=orphan.signed_at,
        checked_at=orphan.checked_at,
        checked_by="storing",
    )  # fmt: skip  (a unit that stored this file failed afterwards; no result points to it)
    assert verify(task)[1] == ""
    assert not ImageCredential.objects.filter(key__endswith="/7.jpg").exists()
    assert ImageCredential.objects.filter(task=task).count() == 15


def test_verify_provenance_refuses_a_task_still_running(fake_openai, s3_bucket):
    task = submit(number_to_generate=1, images_per_persona=4)
    with pytest.raises(CommandError, match=f"Task {task.task_code} is still running"):
        call_command("verify_provenance", task.task_code.upper(), stdout=io.StringIO())


def test_a_run_after_a_kill_between_the_uploads_and_their_rows_records_the_files_it_reuses(fake_openai, s3_bucket):
    """A worker died after its files were written and before their rows were: the next run reuses the files (no
    call, no write) and records them as it finds them, so the task page counts every file."""
    task = submit(number_to_generate=2, images_per_persona=4)
    unit, other = run_first_persona(task)
    token = lifecycle.inline.set(True)
    try:
        ImageCredential.objects.filter(task=task).delete()  # as the kill left them: files stored, no rows
        GenerationResult.objects.filter(pk=unit.result_id).update(images=None)
        PipelineUnit.objects.filter(pk=unit.pk).update(
            state=PipelineUnit.State.RUNNING, lease_until=timezone.now() - timedelta(seconds=1)
        )
        calls = len(fake_openai.requests)
        run_unit(unit.pk)
        assert len(fake_openai.requests) == calls
        run_unit(other.pk)
    finally:
        lifecycle.inline.reset(token)
    assert_task_stored_completely(task, s3_bucket)  # every file, and one verified row each
