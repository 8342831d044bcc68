"""Sign-in throttling that cannot be dodged or turned against the account's owner. Each test replays an attack
found against the running app: forged X-Forwarded-For headers, case variants of the email, and failures kept up
during a lockout."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse

from testkit.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough secret"
VICTIM = "e@probe.test"


def sign_in(client, email, password, address="203.0.113.7", forwarded=None):
    headers = {"REMOTE_ADDR": address}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": email, "password": password}, **headers)


def test_a_new_forged_x_forwarded_for_per_guess_does_not_dodge_the_lockout(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    make_user(VICTIM, password=PASSWORD, is_staff=True)
    answers = [sign_in(client, VICTIM, "wrong", forwarded=f"198.51.100.{n}").status_code for n in range(20)]
    assert answers[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(answers[settings.AXES_FAILURE_LIMIT :]) == {429}
    assert sign_in(client, VICTIM, PASSWORD, forwarded="198.51.100.99").status_code == 429


def test_a_forged_x_forwarded_for_cannot_lock_out_the_address_it_names(client, settings):
    """Guessing the victim's address and sending it in the header locks out the sender's own pair only."""
    settings.TRUSTED_PROXY_COUNT = 0
    make_user(VICTIM, password=PASSWORD, is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT + 3):
        sign_in(client, VICTIM, "wrong", address="198.51.100.66", forwarded="192.0.2.10")
    assert sign_in(client, VICTIM, PASSWORD, address="192.0.2.10").status_code == 302


def test_behind_one_trusted_proxy_only_the_hop_it_added_counts(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_user(VICTIM, password=PASSWORD, is_staff=True)
    proxy = "10.0.0.2"
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, VICTIM, "wrong", address=proxy, forwarded=f"198.51.100.{n}, 192.0.2.50")
    assert sign_in(client, VICTIM, PASSWORD, address=proxy, forwarded="198.51.100.200, 192.0.2.50").status_code == 429
    # Another client behind the same proxy is someone else.
    assert sign_in(client, VICTIM, PASSWORD, address=proxy, forwarded="192.0.2.51").status_code == 302


def test_changing_the_case_of_the_email_does_not_dodge_the_lockout(client, settings):
    make_user(VICTIM, password=PASSWORD, is_staff=True)
    variants = ["e@probe.test", "E@probe.test", "e@PROBE.test", "E@PROBE.TEST", " e@probe.TEST "]
    answers = [sign_in(client, variant, "wrong").status_code for variant in variants * 4]
    assert answers.count(200) == settings.AXES_FAILURE_LIMIT - 1
    assert sign_in(client, "E@PROBE.TEST", PASSWORD).status_code == 429
    assert sign_in(client, VICTIM, PASSWORD).status_code == 429


def test_the_owner_signs_in_from_their_own_address_while_an_attacker_has_locked_the_account_elsewhere(client):
    make_user(VICTIM, password=PASSWORD, is_staff=True)
    for _ in range(30):
        sign_in(client, VICTIM, "wrong", address="198.51.100.66")
    assert sign_in(client, VICTIM, PASSWORD, address="192.0.2.10").status_code == 302


def test_failures_during_a_lockout_do_not_restart_the_cool_off(client, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=3)
    make_user(VICTIM, password=PASSWORD, is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, VICTIM, "wrong")
    locked_at = time.monotonic()  # before the locking failure, whose start dates the cool-off, however slow it is
    sign_in(client, VICTIM, "wrong")
    while time.monotonic() - locked_at < 2.5:  # the attacker keeps trying all through the cool-off
        assert sign_in(client, VICTIM, "wrong").status_code == 429
        time.sleep(0.2)
    time.sleep(max(0.0, 3.3 - (time.monotonic() - locked_at)))
    assert sign_in(client, VICTIM, PASSWORD).status_code == 302
