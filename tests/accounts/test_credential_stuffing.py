"""Credential stuffing: one address trying a few passwords on each of many accounts never reached the lockout of
any (email, address) pair, and each guess cost a full password hash. The address as a whole is now limited, its
refused guesses are never hashed, and the accounts' owners still sign in from their own addresses."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse
from django.utils import timezone

from testkit.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough secret"
OWNER = "owner@probe.test"
STUFFER = "198.51.100.66"
OWNER_ADDRESS = "192.0.2.10"


class CountingHasher(PBKDF2PasswordHasher):
    """A real PBKDF2 hasher, cheap enough for 120 guesses, that counts the hashes it computes: every check of a
    password, and the dummy hash Django computes for an unknown email, goes through `encode`."""

    algorithm = "counting_pbkdf2"
    iterations = 1000
    hashes = 0

    def encode(self, password, salt, iterations=None):
        CountingHasher.hashes += 1
        return super().encode(password, salt, iterations)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.hashes = 0
    return CountingHasher


def sign_in(client, email, password, address):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def test_120_failures_across_40_emails_from_one_address_lock_that_address_without_hashing_the_refused(
    client, settings, counting_hasher
):
    make_user(OWNER, password=PASSWORD, is_staff=True)
    emails = [OWNER] + [f"person{n}@probe.test" for n in range(39)]
    assert settings.AXES_FAILURE_LIMIT > 3  # no single pair is ever locked: only the address's total counts
    counting_hasher.hashes = 0

    guesses = [(email, f"guess {round_}") for round_ in range(3) for email in emails]
    answers = [sign_in(client, email, guess, STUFFER).status_code for email, guess in guesses]

    limit = settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    assert limit > settings.AXES_FAILURE_LIMIT
    assert answers[:limit] == [200] * limit
    assert set(answers[limit:]) == {429}
    assert counting_hasher.hashes == limit  # the refused guesses never reached the hasher

    # The 121st: the right password of a real account, from the locked address, is refused unhashed too.
    assert sign_in(client, OWNER, PASSWORD, STUFFER).status_code == 429
    assert counting_hasher.hashes == limit

    # The owner, from their own address, signs in.
    assert sign_in(client, OWNER, PASSWORD, OWNER_ADDRESS).status_code == 302


def test_a_person_who_mistypes_a_few_passwords_is_not_locked_out_of_another_account(client, counting_hasher):
    """Failures below both limits, spread over two accounts from one address, leave sign-in open."""
    make_user(OWNER, password=PASSWORD, is_staff=True)
    for email in ("colleague@probe.test", OWNER):
        for _ in range(2):
            assert sign_in(client, email, "wrong", STUFFER).status_code == 200
    assert sign_in(client, OWNER, PASSWORD, STUFFER).status_code == 302


def test_signing_in_to_an_own_account_does_not_clear_the_address_count(client, settings, counting_hasher):
    """A stuffer with an account of their own cannot reset the address's count by signing in to it now and then:
    a success clears only the failures of that account from that address."""
    make_user(OWNER, password=PASSWORD, is_staff=True)
    limit = settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    for n in range(limit - 1):
        assert sign_in(client, f"person{n}@probe.test", "guess", STUFFER).status_code == 200
    assert sign_in(client, OWNER, PASSWORD, STUFFER).status_code == 302
    client.logout()
    assert sign_in(client, "one-more@probe.test", "guess", STUFFER).status_code == 200
    assert sign_in(client, "and-another@probe.test", "guess", STUFFER).status_code == 429


def test_a_pair_quiet_for_a_whole_cool_off_no_longer_counts_against_its_address(client, settings, counting_hasher):
    """The address's count is its pairs' counts as axes keeps them (one count per pair, dated by its latest failure):
    a pair whose latest failure is older than the cool-off has expired, its failures with it."""
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 4
    for _ in range(3):
        assert sign_in(client, "earlier@probe.test", "guess", STUFFER).status_code == 200
    stale = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1)
    assert AccessAttempt.objects.filter(username="earlier@probe.test").update(attempt_time=stale) == 1

    answers = [sign_in(client, f"later{n}@probe.test", "guess", STUFFER).status_code for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the limit counts only the four recent failures
