"""The signing certificate and key behind every manifest we write: loaded from C2PA_SIGNING_CERT and
C2PA_SIGNING_KEY (PEM text or a path to it), checked at start-up, and, for development, made by
`manage.py c2pa_dev_cert` as a local CA and a leaf certificate it issued.

C2PA validators refuse a self-signed signing certificate, so the development pair is two certificates: the
CA is a trust anchor a verifier may add, the leaf signs. Nothing here ever puts key material in a message.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

DEV_ORGANIZATION = "Avatar Data Generator (development)"
# The file names `c2pa_dev_cert` writes, inside C2PA_DEV_DIR.
DEV_CA = "ca.pem"
DEV_CHAIN = "signer.pem"
DEV_KEY = "signer.key"


class CredentialsError(Exception):
    """The signing certificate or key cannot sign manifests that validators accept; the message says why and
    what to do, and never holds key material."""


@dataclass(frozen=True)
class Credentials:
    chain_pem: bytes  # the leaf first, then the certificates that issued it
    key_pem: bytes = field(repr=False)
    algorithm: str  # c2pa's name: es256, es384, es512, ps256, ed25519
    subject: str
    issuer: str
    not_after: dt.datetime


@sensitive_variables("value")
def _pem_of(value: str, what: str, setting: str, *, secret: bool = False) -> bytes:
    """PEM text given in the setting itself, or read from the path it names. A secret's value is never repeated
    in a message: it may be the key itself, in some other encoding."""
    if not value.strip():
        raise CredentialsError(
            f"No {what}: {setting} is not set. For development run `manage.py c2pa_dev_cert`; in production set "
            f"{setting} to the PEM file (or its text) of a certificate issued for C2PA signing."
        )
    if "-----BEGIN" in value:
        return value.encode("utf-8")
    path = Path(value).expanduser()
    named = f"The {what} file ({setting})" if secret else f"The {what} file {path} ({setting})"
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise CredentialsError(
            f"{named} does not exist: the setting is neither PEM text nor the path of a file. For development run "
            "`manage.py c2pa_dev_cert`."
        ) from None
    except OSError as error:
        raise CredentialsError(f"{named} cannot be read: {error.strerror}.") from None


def _algorithm(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        names = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in names:
            return names[key.curve.name]
        raise CredentialsError(f"The signing key is on curve {key.curve.name}; C2PA signs with P-256, P-384 or P-521.")
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise CredentialsError("The signing key is of a kind C2PA cannot sign with: use an EC, RSA or Ed25519 key.")


def _same_key(key: object, certificate: x509.Certificate) -> bool:
    """Whether the private key belongs to the certificate: sign a probe and verify it with the certificate."""
    probe = b"avatar-data-generator key check"
    public = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(key.sign(probe, ec.ECDSA(hashes.SHA256())), probe, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
            public.verify(key.sign(probe, pss, hashes.SHA256()), probe, pss, hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PrivateKey) and isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(key.sign(probe), probe)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _name(certificate: x509.Certificate, which: str) -> str:
    name = getattr(certificate, which)
    common_names = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common_names[0].value) if common_names else name.rfc4514_string()


@sensitive_variables("key_pem", "key")
def check(chain_pem: bytes, key_pem: bytes, *, now: dt.datetime | None = None) -> Credentials:
    """The credentials, if they can sign manifests that validators accept: a parseable chain whose leaf is
    valid now, not self-signed, meant for signing, and the key's own. Raises CredentialsError saying what is wrong."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise CredentialsError("The signing certificate is not a PEM certificate (C2PA_SIGNING_CERT).") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise CredentialsError("The signing key is not an unencrypted PEM private key (C2PA_SIGNING_KEY).") from None
    leaf = chain[0]
    subject = _name(leaf, "subject")
    if leaf.not_valid_after_utc < now:
        raise CredentialsError(
            f"The signing certificate {subject!r} expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC. "
            "Renew it (for development: `manage.py c2pa_dev_cert --force`) before generating images."
        )
    if leaf.not_valid_before_utc > now:
        raise CredentialsError(
            f"The signing certificate {subject!r} is not valid until {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC."
        )
    if leaf.issuer == leaf.subject:
        raise CredentialsError(
            f"The signing certificate {subject!r} is self-signed, which C2PA validators reject. Use one issued by a "
            "CA (for development: `manage.py c2pa_dev_cert` makes a local CA and a certificate it issues)."
        )
    try:
        constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        if constraints.ca:
            raise CredentialsError(f"The signing certificate {subject!r} is a CA certificate; sign with a leaf.")
    except x509.ExtensionNotFound:
        pass
    if not _same_key(key, leaf):
        raise CredentialsError(f"The signing key does not belong to the certificate {subject!r}.")
    return Credentials(
        chain_pem=chain_pem,
        key_pem=key_pem,
        algorithm=_algorithm(key),
        subject=subject,
        issuer=_name(leaf, "issuer"),
        not_after=leaf.not_valid_after_utc,
    )


def trust_anchors() -> str:
    """PEM text of the CAs a verifier trusts (C2PA_TRUST_ANCHORS: the text itself, or a path); '' for none, and for
    the development CA's default path while there is no development CA."""
    value = settings.C2PA_TRUST_ANCHORS
    if not value or "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    if not path.is_file() and path == settings.C2PA_DEV_DIR / DEV_CA:
        return ""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise CredentialsError(f"The trust anchors file {path} (C2PA_TRUST_ANCHORS) cannot be read: {error}.") from None


def check_trust_anchors() -> int:
    """How many CA certificates C2PA_TRUST_ANCHORS holds. Raises CredentialsError when it is not PEM certificates."""
    anchors = trust_anchors()
    if not anchors:
        return 0
    try:
        return len(x509.load_pem_x509_certificates(anchors.encode("utf-8")))
    except ValueError:
        raise CredentialsError("C2PA_TRUST_ANCHORS is not a list of PEM certificates.") from None


def load() -> Credentials:
    """The configured credentials, checked. Raises CredentialsError."""
    chain_pem = _pem_of(settings.C2PA_SIGNING_CERT, "signing certificate", "C2PA_SIGNING_CERT")
    key_pem = _pem_of(settings.C2PA_SIGNING_KEY, "signing key", "C2PA_SIGNING_KEY", secret=True)
    return check(chain_pem, key_pem)


# --- Development certificates ----------------------------------------------------------------------------------


def _subject(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Issued:
    """A CA and a signing certificate it issued, as PEM."""

    ca_pem: bytes
    chain_pem: bytes  # leaf, then CA
    key_pem: bytes


def issue(
    organization: str = DEV_ORGANIZATION,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Issued:
    """A new local CA (P-256, ten years) and a signing certificate it issues (by default valid for two years),
    with the key usages C2PA asks of a claim signer: digital signature, and email protection as extended use."""
    now = dt.datetime.now(dt.UTC)
    not_before = not_before or now - dt.timedelta(hours=1)
    not_after = not_after or now + dt.timedelta(days=730)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _subject(f"{organization} CA", organization)
    no_usage = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(not_before, now - dt.timedelta(hours=1)))
        .not_valid_after(max(not_after, now) + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **no_usage), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_subject(f"{organization} signer", organization))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **no_usage), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Issued(ca_pem=_pem(ca), chain_pem=_pem(leaf) + _pem(ca), key_pem=key_pem)


def write_dev_credentials(directory: Path) -> Issued:
    """A new development CA and signer in `directory`: the key readable by its owner only."""
    directory.mkdir(parents=True, exist_ok=True)
    issued = issue()
    (directory / DEV_CA).write_bytes(issued.ca_pem)
    (directory / DEV_CHAIN).write_bytes(issued.chain_pem)
    key_path = directory / DEV_KEY
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(issued.key_pem)
    return issued
