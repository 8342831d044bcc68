"""The Flask app's bcrypt hashes keep working under Django, and turn into PBKDF2 at sign-in."""

import bcrypt
import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, get_hasher, identify_hasher

from accounts import hashers
from accounts.hashers import FlaskBcryptPasswordHasher
from accounts.models import User
from testkit.factories import make_user

PASSWORD = "old flask password"


def flask_hash(password: str, rounds: int = 4, prefix: bytes = b"2b") -> str:
    """What Flask-Bcrypt's generate_password_hash(password).decode() stored: bcrypt of the UTF-8
    bytes (fewer rounds than Flask's 12 where speed matters)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds, prefix)).decode()


def adopted(bare: str) -> str:
    """The hash as adopt_legacy_db rewrites it."""
    return f"flask_bcrypt${bare}"


def test_a_twelve_round_flask_bcrypt_hash_verifies():
    encoded = adopted(flask_hash(PASSWORD, rounds=12))
    assert encoded.startswith("flask_bcrypt$$2b$12$") and len(encoded) == len("flask_bcrypt$") + 60
    assert check_password(PASSWORD, encoded)


@pytest.mark.parametrize("prefix", ["2a", "2b", "2y"])
def test_every_bcrypt_prefix_verifies(prefix):
    # bcrypt makes no $2y$ salts; $2y$ is the same algorithm under PHP's name.
    bare = flask_hash(PASSWORD, prefix=b"2a" if prefix == "2a" else b"2b").replace("$2b$", f"${prefix}$", 1)
    assert check_password(PASSWORD, adopted(bare))


def test_a_wrong_password_fails():
    encoded = adopted(flask_hash(PASSWORD))
    assert not check_password("old flask passwore", encoded)
    assert not check_password("", encoded)


def test_a_non_ascii_password_is_checked_as_utf8_like_flask_bcrypt():
    password = "mot de passe élevé ☂"
    assert check_password(password, adopted(flask_hash(password)))


def test_seventy_two_bytes_verify_and_more_fail_without_raising():
    password = "p" * 72
    encoded = adopted(flask_hash(password))
    assert check_password(password, encoded)
    # Older bcrypt ignored the bytes past 72, so this once matched; bcrypt 5 refuses it (ValueError).
    assert not check_password(password + "extra", encoded)
    assert not FlaskBcryptPasswordHasher().verify("é" * 37, encoded)  # 74 bytes in UTF-8


def test_a_damaged_hash_or_another_algorithm_fails_without_raising():
    hasher = FlaskBcryptPasswordHasher()
    assert not hasher.verify(PASSWORD, "flask_bcrypt$$2b$04$tooshort")
    assert not hasher.verify(PASSWORD, "flask_bcrypt$not a hash at all")
    assert not hasher.verify(PASSWORD, "bcrypt$" + flask_hash(PASSWORD))


def test_a_bare_bcrypt_hash_is_not_recognised_which_is_why_adoption_marks_them():
    with pytest.raises(ValueError):
        identify_hasher(flask_hash(PASSWORD))
    assert not check_password(PASSWORD, flask_hash(PASSWORD))


def test_the_comparison_is_constant_time(monkeypatch):
    calls = []

    def spy(a, b):
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(hashers, "constant_time_compare", spy)
    bare = flask_hash(PASSWORD)
    assert check_password(PASSWORD, adopted(bare))
    assert calls == [(bare.encode(), bare.encode())]


def test_the_hasher_is_found_by_its_prefix_and_summarised_for_the_admin():
    encoded = adopted(flask_hash(PASSWORD, rounds=12))
    hasher = identify_hasher(encoded)
    assert isinstance(hasher, FlaskBcryptPasswordHasher)
    summary = {str(key): value for key, value in hasher.safe_summary(encoded).items()}
    assert summary["algorithm"] == "flask_bcrypt" and summary["work factor"] == 12


def test_pbkdf2_stays_the_preferred_hasher_with_django_defaults_before_the_flask_one():
    assert settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert settings.PASSWORD_HASHERS[-1] == "accounts.hashers.FlaskBcryptPasswordHasher"
    assert get_hasher("default").algorithm == "pbkdf2_sha256"


@pytest.mark.django_db
def test_a_successful_check_upgrades_the_stored_hash_to_pbkdf2_and_a_failed_one_does_not():
    user = make_user("legacy@example.com")
    User.objects.filter(pk=user.pk).update(password=adopted(flask_hash(PASSWORD)))
    user.refresh_from_db()
    legacy_hash = user.password

    assert not user.check_password("wrong")
    user.refresh_from_db()
    assert user.password == legacy_hash

    assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")
    assert user.check_password(PASSWORD) and not user.check_password("wrong")
