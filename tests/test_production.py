"""Production settings and operations: the deploy checklist, security headers, logs (/healthz: test_healthz.py)."""

import logging
import os
import subprocess
import sys

import pytest
from django.test import override_settings

from avatar_project import logging as redaction
from testkit.servers import ROOT

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k9$Zq!w2Lr7@Vx4#Tn8^Pb1&Hs6*Jd3(Fm5)Gc0_Yu-=Ea+Wi[Oe]Rt{Ql}Za;Xs",
    "ALLOWED_HOSTS": "avatars.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://avatars.example.com",
    "ENV_FILE": "/nonexistent/.env",
}


# Not for production, and set by the browser tests for their own process only.
LOCAL_ONLY = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def run_manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in LOCAL_ONLY} | env
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True)  # fmt: skip


def test_check_deploy_passes_with_no_warnings_in_production():
    # Local media (no bucket) needs SERVE_MEDIA in production: tests/test_local_media.py.
    done = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV, SERVE_MEDIA="true")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_production_turns_on_secure_cookies_hsts_and_the_https_redirect():
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER]))"
    )
    environment = {k: v for k, v in os.environ.items() if k not in LOCAL_ONLY} | PRODUCTION_ENV
    environment["DJANGO_SETTINGS_MODULE"] = "avatar_project.settings"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert done.stdout.strip() == '[true, true, true, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"]]', done.stderr


@pytest.mark.django_db
def test_pages_carry_the_security_headers_and_a_content_security_policy(client):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31_536_000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=True)
def test_https_responses_carry_hsts(client):
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_logs_never_show_a_pem_private_key_such_as_the_signing_key():
    from generation.integrations.provenance.credentials import issue

    key = issue().key_pem.decode().strip()
    record = logging.LogRecord("generation", logging.ERROR, __file__, 1, "loaded %s from the setting", (key,), None)
    redaction.RedactSecrets().filter(record)
    assert record.getMessage() == "loaded [redacted] from the setting"
    cut_off = redaction.redact("head " + key[:120])  # a key cut off mid-way is still blanked out
    assert cut_off == "head [redacted]"


def test_logs_never_show_the_api_key_or_storage_secrets(settings):
    key = "sk-live-abcdefghijklmnop1234"
    settings.OPENAI_API_KEY = key
    redaction.secrets.cache_clear()
    try:
        record = logging.LogRecord("generation", logging.ERROR, __file__, 1, "call failed with key %s", (key,), None)
        try:
            raise RuntimeError(f"server said: bad key {key}")
        except RuntimeError:
            record.exc_info = sys.exc_info()
        redaction.RedactSecrets().filter(record)
        assert record.getMessage() == "call failed with key [redacted]"
        assert key not in record.exc_text and "bad key [redacted]" in record.exc_text
    finally:
        redaction.secrets.cache_clear()


def test_logs_blank_short_secrets_where_they_stand_as_a_token(settings):
    settings.OPENAI_API_KEY = "pw1"
    redaction.secrets.cache_clear()
    try:
        assert redaction.redact("postgres://app:pw1@db/avatars") == "postgres://app:[redacted]@db/avatars"
        assert redaction.redact("password pw1 rejected") == "password [redacted] rejected"
        assert redaction.redact("spw10 and pw1x stay") == "spw10 and pw1x stay"
    finally:
        redaction.secrets.cache_clear()
