"""Content Credentials (C2PA) on every image we store: the one module that talks to c2pa-python.

Each stored file carries a manifest signed with our certificate (`credentials.py` beside this module) that says
what made it: `c2pa.created` by the image model for a base, `c2pa.opened` of the grid it was cut from then
`c2pa.cropped` for a tile, `c2pa.resized` for a thumbnail, always with IPTC's trainedAlgorithmicMedia as the
digital source type, our product and version as the claim generator, and the task and persona it belongs to. A
tile's grid is its parent ingredient, so a manifest the model provider put on the grid travels inside the tile's.

Thumbnails name their full-size image in our assertion rather than embedding it as an ingredient: the chain would
triple their size (bench/signing.py), and the full-size file carries it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO

import c2pa
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from generation.imaging.metadata import TRAINED_ALGORITHMIC_MEDIA
from generation.imaging.photos import Photo
from generation.integrations import storage
from generation.integrations.openai import asks
from generation.integrations.provenance.credentials import (
    Credentials,
    CredentialsError,
    check_trust_anchors,
    load,
    trust_anchors,
)

log = logging.getLogger("generation.pipeline")

__all__ = [
    "ASSERTION",
    "CredentialsError",
    "Origin",
    "Reading",
    "signing_credentials",
    "read",
    "sign_base",
    "sign_derived",
    "sign_thumbnail",
    "sign_thumbnails",
    "signed_files",
]

PRODUCT = "Avatar Data Generator"
# Our own assertion: which task and persona an image belongs to (nothing about any real person).
ASSERTION = "org.avatar-data-generator.persona"
PARENT = "parent"  # the label our manifests give their parent ingredient
_MIME = {b"\x89PNG": "image/png", b"\xff\xd8": "image/jpeg"}


class SigningError(Exception):
    """An image could not be signed (it is not a PNG, JPEG or WebP, or the library refused it)."""


class ParentUnreadable(SigningError):
    """c2pa could not take the image a photo was made from as its ingredient (a broken manifest of its own)."""


@dataclass(frozen=True)
class Origin:
    """What a manifest says an image belongs to."""

    task_code: str
    result_id: int
    model: str  # the image model, named as the software agent

    @classmethod
    def of(cls, task_code: str, result_id: int) -> Origin:
        return cls(task_code, result_id, image_model())


def image_model() -> str:
    if settings.GENERATION_BACKEND == "openai":
        return asks.image_model()
    return f"{PRODUCT} offline generator"


def mime_of(data: bytes) -> str:
    for magic, mime in _MIME.items():
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise SigningError("not a PNG, JPEG or WebP file")


@functools.cache
def _credentials() -> Credentials:
    return load()


@sensitive_variables("credentials")
def signing_credentials() -> Credentials:
    """The signing credentials, read and checked once per process, and checked against the clock on every call: a
    worker whose certificate expires meanwhile stops signing (and reads renewed files) rather than sign with it.
    Raises CredentialsError (with no key material)."""
    try:
        credentials = _credentials()
        if credentials.not_after < dt.datetime.now(dt.UTC):
            _credentials.cache_clear()
            credentials = _credentials()  # the renewed files, or the CredentialsError saying it expired
    except CredentialsError:
        _credentials.cache_clear()  # fixed files are picked up without a restart
        raise
    return credentials


_local = threading.local()


@sensitive_variables("creds", "info")
def _thread_state() -> threading.local:
    """c2pa's signer and contexts for this thread (its objects are not for sharing across threads, nor forks), made
    again when the credentials change."""
    creds = signing_credentials()
    if getattr(_local, "pid", None) != os.getpid() or getattr(_local, "credentials", None) is not creds:
        info = c2pa.C2paSignerInfo(
            creds.algorithm.encode(), creds.chain_pem, creds.key_pem, settings.C2PA_TIMESTAMP_URL or None
        )
        _local.signer = c2pa.Signer.from_info(info)
        # No claim thumbnail: it would add a preview as large as our own thumbnails to every file.
        _local.signing = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        _local.pid, _local.credentials = os.getpid(), creds
    return _local


def _manifest(title: str, origin: Origin, actions: list[dict], **mine: object) -> dict:
    return {
        "claim_generator_info": [{"name": PRODUCT, "version": settings.PRODUCT_VERSION}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": ASSERTION, "data": {"task": origin.task_code, "persona": origin.result_id, **mine}},
        ],
    }


def _action(name: str, origin: Origin, **extra: object) -> dict:
    return {
        "action": name,
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": {"name": origin.model},
        **extra,
    }


def _sign(data: bytes, manifest: dict, parent: tuple[str, bytes] | None = None, component: bool = False) -> bytes:
    state = _thread_state()
    mime = mime_of(data)
    out = BytesIO()
    try:
        with c2pa.Builder(manifest, state.signing) as builder:
            if parent:
                title, source = parent
                relationship = "componentOf" if component else "parentOf"
                try:
                    ingredient = {"title": title, "relationship": relationship, "label": PARENT}
                    builder.add_ingredient(ingredient, mime_of(source), BytesIO(source))
                except (c2pa.C2paError, SigningError) as error:
                    raise ParentUnreadable(f"c2pa could not read {title}: {error}") from None
            builder.sign(state.signer, mime, BytesIO(data), out)
    except c2pa.C2paError as error:
        raise SigningError(f"c2pa could not sign the image: {error}") from None
    return out.getvalue()


def has_manifest(data: bytes) -> bool:
    try:
        reader = c2pa.Reader.try_create(mime_of(data), BytesIO(data))
    except (c2pa.C2paError, SigningError):
        return False
    if reader is None:
        return False
    reader.close()
    return True


def sign_base(data: bytes, title: str, origin: Origin, answer: bytes | None = None) -> bytes:
    """A base selfie, made by the model from a prompt: `c2pa.created`. When the model's answer carried a manifest
    of its own, the answer goes in as a component ingredient, so that manifest is kept."""
    parent = ("model answer", answer) if answer is not None and has_manifest(answer) else None
    manifest = _manifest(title, origin, [_action("c2pa.created", origin)], image="base")
    try:
        return _sign(data, manifest, parent, component=True)
    except ParentUnreadable as error:
        log.warning("%s: the model's own credentials could not be read (%s); signed without them", title, error)
    return _sign(data, manifest)


def sign_derived(data: bytes, title: str, origin: Origin, parent: tuple[str, bytes], steps: list[str]) -> bytes:
    """A photo cut (`c2pa.cropped`) or fitted (`c2pa.resized`, `c2pa.cropped`) from an image the model made, which
    is its parent ingredient (`parent` is its title and bytes).

    The parent is the model's answer: when it carries credentials c2pa cannot parse (a broken or hostile
    manifest), the photo is still signed, as created by the model and then cut, and says its parent's credentials
    were unreadable, rather than the unit failing over what the model sent."""
    opened = [{"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT]}}]
    steps_taken = [_action(step, origin) for step in steps]
    try:
        return _sign(data, _manifest(title, origin, opened + steps_taken, image="photo"), parent)
    except ParentUnreadable as error:
        log.warning("%s: its parent's credentials could not be read (%s); signed without them", title, error)
    created = [_action("c2pa.created", origin)]
    mine = {"image": "photo", "parent": parent[0], "parent_credentials": "unreadable"}
    return _sign(data, _manifest(title, origin, created + steps_taken, **mine))


def sign_thumbnail(data: bytes, title: str, origin: Origin, image_key: str) -> bytes:
    """A smaller copy of a stored image: made by the model, then `c2pa.resized`; our assertion names the image."""
    actions = [_action("c2pa.created", origin), _action("c2pa.resized", origin)]
    return _sign(data, _manifest(title, origin, actions, image="thumbnail", of=image_key))


def origin_of_stored(data: bytes, origin: Origin) -> Origin:
    """The origin for files made now from a stored image: the model its own credentials name, when they name one
    (the settings may have changed since it was made)."""
    model = read(data).model
    return Origin(origin.task_code, origin.result_id, model) if model else origin


def sign_thumbnails(thumbnails: Mapping[int, bytes], image_key: str, origin: Origin) -> dict[int, bytes]:
    return {
        width: sign_thumbnail(data, storage.thumbnail_key(image_key, width), origin, image_key)
        for width, data in thumbnails.items()
    }


def signed_files(key: str, photo: Photo, origin: Origin, *, answer: bytes | None = None) -> list[tuple[str, bytes]]:
    """(key, bytes) of an image and its thumbnails, each signed: what the pipeline stores. A photo cut or fitted
    from a model's image names that image as its parent; one stored as the model made it (a base) is created, and
    `answer`, the model's own file, is kept as an ingredient when it carries credentials of its own."""
    if photo.made_from is None:
        data = sign_base(photo.data, key, origin, answer)
    else:
        parent = (photo.made_from.title, photo.made_from.source)
        data = sign_derived(photo.data, key, origin, parent, list(photo.made_from.steps))
    return storage.image_files(key, data, sign_thumbnails(photo.thumbnails, key, origin))


# --- Reading ---------------------------------------------------------------------------------------------------

# Not problems of the file: no trust list was given, or revocation was not looked up (no network).
_NOT_FAILURES = {"signingCredential.untrusted", "signingCredential.ocsp.skipped"}


@dataclass
class Reading:
    """What a file's Content Credentials say, as a verifier reads them."""

    state: str | None  # "Trusted", "Valid" or "Invalid" (c2pa's words); None when the file has no manifest
    failures: list[str] = field(default_factory=list)
    label: str = ""
    claim_generator: str = ""
    signer: str = ""
    actions: list[str] = field(default_factory=list)
    source_types: set[str] = field(default_factory=set)
    model: str = ""  # the software agent of its first action that names one
    ours: dict = field(default_factory=dict)
    ingredients: list[dict] = field(default_factory=list)  # title, relationship, whether it carries a manifest
    error: str = ""

    @property
    def trusted(self) -> bool:
        """Signed by a certificate chained to one of C2PA_TRUST_ANCHORS."""
        return self.state == "Trusted"

    @property
    def problems(self) -> list[str]:
        """Why this file is not properly credentialed, in words; empty when it is."""
        if self.error:
            return [self.error]
        if self.state is None:
            return ["no Content Credentials (the manifest is missing or was stripped)"]
        problems = [f"validation failed: {code}" for code in self.failures]
        if self.state == "Invalid" and not problems:
            problems.append("the manifest does not validate")
        if TRAINED_ALGORITHMIC_MEDIA not in self.source_types:
            problems.append("no action says trainedAlgorithmicMedia")
        if self.claim_generator != PRODUCT:
            problems.append(f"claim generator is {self.claim_generator or 'missing'}, not {PRODUCT}")
        return problems


def _trust_context() -> c2pa.Context:
    """This thread's reading context, which trusts C2PA_TRUST_ANCHORS (a verifier needs no signing key). Raises
    CredentialsError when the anchors are not certificates c2pa can read."""
    if getattr(_local, "trust_pid", None) != os.getpid():
        check_trust_anchors()  # c2pa itself takes anything between PEM markers
        anchors = trust_anchors()
        try:
            _local.trust = c2pa.Context.from_dict({"trust": {"trust_anchors": anchors}} if anchors else {})
        except c2pa.C2paError as error:
            raise CredentialsError(f"C2PA_TRUST_ANCHORS cannot be used as trust anchors: {error}") from None
        _local.trust_pid = os.getpid()
    return _local.trust


def read(data: bytes) -> Reading:
    """Validate a file's manifest (signature, the hash binding it to these bytes, trust) and read what it says."""
    try:
        mime = mime_of(data)
    except SigningError as error:
        return Reading(state=None, error=str(error))
    context = _trust_context()
    try:
        reader = c2pa.Reader.try_create(mime, BytesIO(data), None, context)
    except c2pa.C2paError as error:
        return Reading(state="Invalid", error=f"the manifest cannot be read: {error}")
    if reader is None:
        return Reading(state=None)
    with reader:
        store = json.loads(reader.json())
    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    codes = [item.get("code", "") for item in results.get("failure", [])]
    reading = Reading(
        state=store.get("validation_state"),
        failures=[code for code in codes if code not in _NOT_FAILURES],
        label=manifest.get("label", ""),
        claim_generator=next(iter(manifest.get("claim_generator_info") or [{}])).get("name", ""),
        signer=(manifest.get("signature_info") or {}).get("common_name", ""),
    )
    for assertion in manifest.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                reading.actions.append(action.get("action", ""))
                reading.model = reading.model or (action.get("softwareAgent") or {}).get("name", "")
                if action.get("digitalSourceType"):
                    reading.source_types.add(action["digitalSourceType"])
        elif assertion.get("label") == ASSERTION:
            reading.ours = assertion.get("data", {})
    manifests = store.get("manifests", {})
    reading.ingredients = [
        {
            "title": ingredient.get("title", ""),
            "relationship": ingredient.get("relationship", ""),
            "manifest": manifests.get(ingredient.get("active_manifest") or ""),  # the ingredient's own, if any
        }
        for ingredient in manifest.get("ingredients", [])
    ]
    return reading
