"""Content Credentials on the files themselves: what a manifest says, that it binds to the bytes, and that the
signing certificate is checked before anything is signed. Real c2pa signing and reading, real certificates."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from generation.imaging.metadata import TRAINED_ALGORITHMIC_MEDIA, read_xmp, with_ai_metadata, xmp_packet
from generation.imaging.photos import split_grid_photos
from generation.integrations import provenance
from generation.integrations.provenance import credentials
from testkit import faces
from testkit.provenance import PROVIDER, provider_signer

ORIGIN = provenance.Origin("abcd2345", 17, "gpt-image-2")
PROJECT = Path(__file__).resolve().parents[2]


def base_photo() -> bytes:
    return with_ai_metadata(faces.portrait(faces.astronaut()))[0]


def a_grid() -> bytes:
    return faces.grid([faces.astronaut(), faces.grace_hopper(), faces.mirrored(faces.astronaut()), faces.astronaut()])


def flip_pixel_byte(data: bytes) -> bytes:
    """One byte of the compressed pixels changed: in a JPEG's scan, halfway between its start and its end."""
    start = data.index(b"\xff\xda")
    spoiled = bytearray(data)
    spoiled[(start + len(data)) // 2] ^= 0x01
    return bytes(spoiled)


# --- What a manifest says -------------------------------------------------------------------------------------


def test_a_signed_base_says_created_by_the_model_as_trained_algorithmic_media_by_our_product():
    signed = provenance.sign_base(base_photo(), "avatars/abcd2345/17/base.jpg", ORIGIN)
    reading = provenance.read(signed)
    assert reading.problems == []
    assert reading.state == "Trusted"  # the development CA is this machine's trust anchor
    assert reading.actions == ["c2pa.created"]
    assert reading.source_types == {TRAINED_ALGORITHMIC_MEDIA}
    assert reading.claim_generator == "Avatar Data Generator"
    assert reading.ours == {"task": "abcd2345", "persona": 17, "image": "base"}
    assert reading.ingredients == []


def test_the_model_is_the_software_agent_and_the_project_version_the_claim_generators(settings):
    import json

    import c2pa

    signed = provenance.sign_base(base_photo(), "base.jpg", ORIGIN)
    with c2pa.Reader("image/jpeg", io.BytesIO(signed)) as reader:
        manifest = reader.get_active_manifest()
    (action,) = next(a for a in manifest["assertions"] if a["label"] == "c2pa.actions.v2")["data"]["actions"]
    assert action["softwareAgent"] == {"name": "gpt-image-2"}
    generator = manifest["claim_generator_info"][0]
    assert (generator["name"], generator["version"]) == ("Avatar Data Generator", settings.PRODUCT_VERSION)
    assert "@" not in json.dumps(manifest)  # no e-mail, no operator: only what the product invented


def test_each_tile_names_its_grid_as_parent_ingredient_cut_from_it():
    grid = a_grid()
    tiles = split_grid_photos(grid, 2, 2, thumbnail_widths=(256, 512))
    signed = provenance.signed_files("avatars/abcd2345/17/1.jpg", tiles[0], ORIGIN)
    assert [key for key, _ in signed] == [
        "avatars/abcd2345/17/1.jpg",
        "avatars/abcd2345/17/1.thumb256.webp",
        "avatars/abcd2345/17/1.thumb512.webp",
    ]
    tile = provenance.read(signed[0][1])
    assert tile.problems == []
    assert tile.actions == ["c2pa.opened", "c2pa.cropped"]
    assert [(i["title"], i["relationship"], i["manifest"]) for i in tile.ingredients] == [
        ("photo grid", "parentOf", None)
    ]


def test_thumbnails_are_signed_as_resized_and_name_their_image():
    tiles = split_grid_photos(a_grid(), 2, 2, thumbnail_widths=(256, 512))
    files = dict(provenance.signed_files("avatars/abcd2345/17/2.jpg", tiles[1], ORIGIN))
    thumbnail = provenance.read(files["avatars/abcd2345/17/2.thumb256.webp"])
    assert thumbnail.problems == []
    assert thumbnail.actions == ["c2pa.created", "c2pa.resized"]
    assert thumbnail.ours["of"] == "avatars/abcd2345/17/2.jpg"
    assert Image.open(io.BytesIO(files["avatars/abcd2345/17/2.thumb256.webp"])).format == "WEBP"


def test_a_grid_signed_by_the_model_provider_keeps_that_manifest_inside_each_tile():
    provider = provider_signer()
    grid = provider(a_grid())
    (tile, *_) = split_grid_photos(grid, 2, 2, thumbnail_widths=(256, 512))
    reading = provenance.read(provenance.signed_files("avatars/abcd2345/17/1.jpg", tile, ORIGIN)[0][1])
    assert reading.problems == []
    (parent,) = reading.ingredients
    assert parent["relationship"] == "parentOf"
    assert parent["manifest"]["claim_generator_info"][0]["name"] == PROVIDER
    assert parent["manifest"]["signature_info"]["common_name"] == f"{PROVIDER} signer"


def test_a_base_whose_answer_carried_a_manifest_keeps_it_as_a_component():
    answer = provider_signer()(faces.portrait(faces.astronaut()))
    reading = provenance.read(provenance.sign_base(with_ai_metadata(answer)[0], "base.jpg", ORIGIN, answer))
    assert reading.problems == []
    assert reading.actions == ["c2pa.created"]
    (component,) = reading.ingredients
    assert component["relationship"] == "componentOf"
    assert component["manifest"]["claim_generator_info"][0]["name"] == PROVIDER


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_the_iptc_xmp_source_type_stays_beside_the_manifest(image_format):
    buffer = io.BytesIO()
    faces.astronaut().convert("RGB").resize((256, 256)).save(buffer, image_format, xmp=xmp_packet())
    data = with_ai_metadata(buffer.getvalue())[0] if image_format != "WEBP" else buffer.getvalue()
    signed = provenance.sign_base(data, "x", ORIGIN)
    assert provenance.read(signed).problems == []
    xmp = read_xmp(signed)
    assert 'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"' in xmp
    assert f'Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"' in xmp


# --- Bytes that no longer match ---------------------------------------------------------------------------------


def test_a_byte_flipped_in_the_pixels_breaks_the_hash_binding():
    signed = provenance.sign_base(base_photo(), "base.jpg", ORIGIN)
    reading = provenance.read(flip_pixel_byte(signed))
    assert reading.state == "Invalid"
    assert "validation failed: assertion.dataHash.mismatch" in reading.problems


def test_a_file_re_saved_without_its_metadata_has_no_credentials():
    signed = provenance.sign_base(base_photo(), "base.jpg", ORIGIN)
    out = io.BytesIO()
    Image.open(io.BytesIO(signed)).save(out, "JPEG", quality=95)
    reading = provenance.read(out.getvalue())
    assert reading.state is None
    assert reading.problems == ["no Content Credentials (the manifest is missing or was stripped)"]


def test_a_file_that_is_not_an_image_reads_as_a_problem_not_an_error():
    assert provenance.read(b"<html>not an image</html>").problems == ["not a PNG, JPEG or WebP file"]
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(24)  # RIFF, but sound: not taken for a WebP
    assert provenance.read(wav).problems == ["not a PNG, JPEG or WebP file"]


def test_files_made_later_from_a_stored_image_name_the_model_that_made_it_not_todays():
    signed = provenance.sign_base(base_photo(), "base.jpg", provenance.Origin("abcd2345", 17, "gpt-image-1"))
    today = provenance.Origin("abcd2345", 17, "gpt-image-2")
    assert provenance.origin_of_stored(signed, today) == provenance.Origin("abcd2345", 17, "gpt-image-1")
    assert provenance.origin_of_stored(base_photo(), today) == today  # no credentials of its own to go by


def test_a_manifest_that_does_not_say_ai_generated_is_a_problem():
    import c2pa

    creds = provenance.signing_credentials()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(creds.algorithm.encode(), creds.chain_pem, creds.key_pem, None))
    manifest = {
        "claim_generator_info": [{"name": "Avatar Data Generator"}],
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [{"action": "c2pa.created",
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}],
    }  # fmt: skip
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(base_photo()), out)
    assert provenance.read(out.getvalue()).problems == ["no action says trainedAlgorithmicMedia"]


# --- Certificates -----------------------------------------------------------------------------------------------


def issued_pair(**dates) -> credentials.Issued:
    return credentials.issue("Test Org", **dates)


def test_development_credentials_pass_the_check_and_name_their_signer():
    issued = issued_pair()
    checked = credentials.check(issued.chain_pem, issued.key_pem)
    assert (checked.subject, checked.issuer, checked.algorithm) == ("Test Org signer", "Test Org CA", "es256")


def test_an_expired_certificate_is_refused_with_the_day_it_expired():
    now = dt.datetime.now(dt.UTC)
    issued = issued_pair(not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=2))
    with pytest.raises(credentials.CredentialsError, match=r"expired on \d{4}-\d\d-\d\d") as caught:
        credentials.check(issued.chain_pem, issued.key_pem)
    assert "c2pa_dev_cert --force" in str(caught.value)


def test_a_certificate_not_valid_yet_is_refused():
    now = dt.datetime.now(dt.UTC)
    issued = issued_pair(not_before=now + dt.timedelta(days=3), not_after=now + dt.timedelta(days=30))
    with pytest.raises(credentials.CredentialsError, match="is not valid until"):
        credentials.check(issued.chain_pem, issued.key_pem)


def test_a_self_signed_certificate_is_refused_because_validators_reject_it():
    issued = issued_pair()
    ca_only = issued.chain_pem[len(issued.chain_pem) - len(issued.ca_pem) :]
    with pytest.raises(credentials.CredentialsError, match="self-signed"):
        credentials.check(ca_only, issued.key_pem)


def test_a_key_of_another_certificate_is_refused_without_showing_either():
    one, other = issued_pair(), issued_pair()
    with pytest.raises(credentials.CredentialsError, match="does not belong") as caught:
        credentials.check(one.chain_pem, other.key_pem)
    assert "PRIVATE KEY" not in str(caught.value) and "BEGIN" not in str(caught.value)


def test_garbage_in_place_of_a_certificate_or_a_key_is_named_not_echoed():
    issued = issued_pair()
    with pytest.raises(credentials.CredentialsError, match="not a PEM certificate"):
        credentials.check(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", issued.key_pem)
    with pytest.raises(credentials.CredentialsError, match="not an unencrypted PEM private key") as caught:
        credentials.check(issued.chain_pem, b"-----BEGIN PRIVATE KEY-----\nsecret-bytes\n-----END PRIVATE KEY-----\n")
    assert "secret-bytes" not in str(caught.value)


def test_settings_take_pem_text_or_a_path_and_a_missing_file_names_the_setting(settings, tmp_path):
    issued = issued_pair()
    settings.C2PA_SIGNING_CERT = issued.chain_pem.decode()
    (tmp_path / "key.pem").write_bytes(issued.key_pem)
    settings.C2PA_SIGNING_KEY = str(tmp_path / "key.pem")
    assert credentials.load().subject == "Test Org signer"
    settings.C2PA_SIGNING_KEY = str(tmp_path / "absent.pem")
    with pytest.raises(
        credentials.CredentialsError, match=r"The signing key file \(C2PA_SIGNING_KEY\) does not exist"
    ) as caught:
        credentials.load()
    assert "absent.pem" not in str(caught.value)  # a key's setting is never repeated: it may be the key itself


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = os.environ | {"DEBUG": "true"} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_start_up_stops_with_a_clear_error_when_the_certificate_is_missing(tmp_path):
    done = run_manage("check", C2PA_SIGNING_CERT=str(tmp_path / "none.pem"))
    assert done.returncode != 0
    assert "generation.E001" in done.stderr and "none.pem (C2PA_SIGNING_CERT) does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_worker_cluster_does_not_start_with_an_expired_certificate(tmp_path):
    now = dt.datetime.now(dt.UTC)
    issued = issued_pair(not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1))
    (tmp_path / "chain.pem").write_bytes(issued.chain_pem)
    (tmp_path / "key.pem").write_bytes(issued.key_pem)
    done = run_manage(
        "qcluster", C2PA_SIGNING_CERT=str(tmp_path / "chain.pem"), C2PA_SIGNING_KEY=str(tmp_path / "key.pem")
    )
    assert done.returncode != 0
    # Django's system checks stop it (this machine has no migrated database, so the sweep's own warning shows too).
    assert "SystemCheckError" in done.stderr and "generation.E001" in done.stderr and "expired on" in done.stderr
    assert "BEGIN" not in done.stderr + done.stdout


def test_c2pa_dev_cert_writes_a_pair_once_with_a_private_key_only_its_owner_reads(tmp_path):
    first = run_manage("c2pa_dev_cert", C2PA_DEV_DIR=str(tmp_path / "c2pa"))
    assert first.returncode == 0, first.stderr
    key = tmp_path / "c2pa" / "signer.key"
    assert key.stat().st_mode & 0o777 == 0o600
    chain = (tmp_path / "c2pa" / "signer.pem").read_bytes()
    assert credentials.check(chain, key.read_bytes()).issuer == "Avatar Data Generator (development) CA"
    again = run_manage("c2pa_dev_cert", C2PA_DEV_DIR=str(tmp_path / "c2pa"))
    assert "already" in again.stdout and (tmp_path / "c2pa" / "signer.pem").read_bytes() == chain
    forced = run_manage("c2pa_dev_cert", "--force", C2PA_DEV_DIR=str(tmp_path / "c2pa"))
    assert forced.returncode == 0 and (tmp_path / "c2pa" / "signer.pem").read_bytes() != chain
