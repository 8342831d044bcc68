"""The one settings module. Every value that differs between machines comes from the environment
(or a `.env` file beside manage.py, or the file ENV_FILE names), read with django-environ; the
defaults are the embedded ones that let a fresh checkout run with no servers."""

import tomllib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from avatar_project.env_values import budget, count_or_none, image_origins, output_format
from avatar_project.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = Path(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    # Real environment variables win over the file.
    env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env "
            "(for example: SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only"
# Earlier keys, still accepted for signed values (sessions) while a new key rolls out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "django_htmx",
    "csp",
    "axes",
    "accounts",
    "siteconfig",
    "generation",
    "avatar_project.adoption",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files from gunicorn, with far-future caching.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # App pages and partials: `Cache-Control: private, no-cache` unless a view said otherwise.
    "avatar_project.middleware.PrivatePages",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.htmx: the live parts of the pages ask for partials.
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A NUL in the address or a form is a 400 page, never a database error.
    "avatar_project.middleware.RejectNulCharacters",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns locked-out sign-ins into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "avatar_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Generation's template tags live with its pages (generation/web/), not in a templatetags package.
            "libraries": {"task_display": "generation.web.task_display"},
        },
    },
]

WSGI_APPLICATION = "avatar_project.wsgi.application"

# Unset DATABASE_URL means the embedded default: an SQLite file in the project.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Connections are kept for a minute: a worker would otherwise open one per job and the ORM broker one per poll
# (bench/pipeline.py: ~40 ms of PostgreSQL time per unit); health checks drop one the server has closed.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite lets one connection write at a time; the web server, the workers and the commands share the file.
    # WAL: readers never block the writer, nor it them. IMMEDIATE: a transaction takes the write lock as it begins,
    # so it waits its turn for up to the busy timeout; a deferred one that reads and then writes fails at once
    # ("database is locked") when another wrote meanwhile, whatever the timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=30.0),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )

# The documented tables use integer primary keys.
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuses sign-ins while an address/account pair is locked out, before checking the password.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "task_list"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)

# Sign-in throttling (django-axes). The policy: AXES_FAILURE_LIMIT failures for one account from one address lock
# that pair out for AXES_COOLOFF_MINUTES, and SIGN_IN_ADDRESS_FAILURE_LIMIT failures from one address across all
# accounts (credential stuffing) lock that address out for as long. A locked-out attempt is refused before its
# password is hashed. The account's owner still signs in from their own address, so a lockout cannot be used to
# shut anyone out; only people sharing a stuffer's address wait out the cool-off. Failures during a lockout do not
# restart the cool-off. The address and the email are taken as accounts/throttling.py says, so neither a forged
# X-Forwarded-For nor the case of the email dodges the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
SIGN_IN_ADDRESS_FAILURE_LIMIT = env.int("SIGN_IN_ADDRESS_FAILURE_LIMIT", default=30)
if SIGN_IN_ADDRESS_FAILURE_LIMIT < 1:  # 0 would lock every address out, the owners' own included
    raise ImproperlyConfigured(
        f"SIGN_IN_ADDRESS_FAILURE_LIMIT must be a whole number of 1 or more (not {SIGN_IN_ADDRESS_FAILURE_LIMIT})."
    )
AXES_HANDLER = "accounts.throttling.AddressLimitHandler"
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_address"
AXES_USERNAME_CALLABLE = "accounts.throttling.sign_in_username"
# How many reverse proxies of ours stand in front of the app (0: none, clients connect directly). Only then is
# X-Forwarded-For read, and only the hop the outermost of them added.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Django's defaults, in Django's order (the first hashes every new password), then the hasher that
# checks the Flask app's bcrypt hashes: a successful sign-in rewrites such a hash as PBKDF2.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "accounts.hashers.FlaskBcryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Serving what the web server does not: local media, and the details of /healthz. ---
# Local media (no bucket) with DEBUG off is served by nobody unless this is on: Django then serves MEDIA_URL itself,
# to signed-in staff only, which suits a small install (`manage.py check --deploy` says so when it is off).
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=False)
# A monitor that sends `Authorization: Bearer <this>` sees which part of /healthz failed (empty: staff only).
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")

# --- Storage: S3 (or any S3-compatible server) when a bucket is named, else local files. ---
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    DEFAULT_STORAGE = {
        "BACKEND": "generation.integrations.storage.PutObjectS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            # Public URLs: readable through a bucket policy or a CDN, never signed.
            "querystring_auth": False,
            # What signs the links to prepared ZIPs (the one signed URL): SigV4, which every region accepts.
            "signature_version": env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4"),
            # New buckets refuse ACLs; send one only when asked to.
            "default_acl": env.str("AWS_DEFAULT_ACL", default="") or None,
            # Keys are deterministic, so a re-run overwrites rather than adding a second file.
            "file_overwrite": True,
            "location": env.str("AWS_LOCATION", default=""),
        },
    }
else:
    DEFAULT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"allow_overwrite": True},
    }
STORAGES = {
    "default": DEFAULT_STORAGE,
    # Collected files are pre-compressed for whitenoise; no manifest, so a page never fails to
    # render for want of a `collectstatic` run (the Procfile's release step runs it).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Generation pipeline ---
MAX_PERSONAS_PER_TASK = env.int("MAX_PERSONAS_PER_TASK", default=500)
PERSONAS_PER_BATCH = env.int("PERSONAS_PER_BATCH", default=5)
# How many times one batch asks the model again for personas it did not get.
BATCH_ASK_ROUNDS = env.int("BATCH_ASK_ROUNDS", default=3)
# Tries of one unit (a batch, or one persona's images), worker deaths included.
UNIT_MAX_ATTEMPTS = env.int("UNIT_MAX_ATTEMPTS", default=3)
# A task with no unit ended for this long, and no live lease, shows as stalled and may be retried by hand.
STALL_MINUTES = env.int("STALL_MINUTES", default=10)
# A running unit's lease, renewed by its worker's heartbeat every third of it. A unit whose worker died is back in
# the queue once its lease runs out and the sweep (every 30 s) finds it: within UNIT_LEASE_SECONDS + 30 s.
UNIT_LEASE_SECONDS = env.int("UNIT_LEASE_SECONDS", default=45)
# A task's ZIP is prepared by a background job; one whose job shows no sign of life for this long (its worker
# died) is prepared again on the next request.
EXPORT_BUILD_STALE_SECONDS = env.int("EXPORT_BUILD_STALE_SECONDS", default=60)
# A running task's ZIP is what was finished when it was made; it is made again once it is this old (and the task
# changed since), however often it is asked for.
EXPORT_RUNNING_REFRESH_SECONDS = env.int("EXPORT_RUNNING_REFRESH_SECONDS", default=300)
# How long a presigned S3 link to a prepared ZIP stays valid; a replaced ZIP is kept that long after.
EXPORT_LINK_SECONDS = env.int("EXPORT_LINK_SECONDS", default=900)
# The same API rejection (status and code) for this many units in a row stops the task (0: never).
STOP_AFTER_SAME_REJECTION = env.int("STOP_AFTER_SAME_REJECTION", default=5)
# Seconds to wait before a failed unit is tried again, times its attempt number (at most 30).
UNIT_RETRY_DELAY = env.float("UNIT_RETRY_DELAY", default=2.0)
IMAGE_FORMAT = env.str("IMAGE_FORMAT", default="jpeg")  # jpeg or webp: how tiles are encoded
IMAGE_QUALITY = env.int("IMAGE_QUALITY", default=90)
# 8 images per persona: two 2x2 grids made in parallel (default), or one 2x4 grid.
GRID_LAYOUT_8 = env.str("GRID_LAYOUT_8", default="2x2+2x2")
# Threads per worker process for a persona's grid calls and uploads (eight tiles upload at once).
IMAGE_THREADS = env.int("IMAGE_THREADS", default=8)
# Reference faces refused by moderation are swapped for another this many times.
FACE_SWAP_TRIES = env.int("FACE_SWAP_TRIES", default=3)

OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
GENERATION_BACKEND = env.str("GENERATION_BACKEND", default="openai" if OPENAI_API_KEY else "offline")
# Face checks (generation/faces/checks.py): on by default with a real image model, off with the offline
# backend, whose drawn portraits are not faces.
FACE_CHECK = env.str("FACE_CHECK", default="on" if GENERATION_BACKEND == "openai" else "off") == "on"
# Distances between dlib face embeddings (README, "Face checks", for the measurements behind them). A tile further
# than FACE_MATCH_THRESHOLD from its base shows someone else; two bases nearer than DUPLICATE_FACE_THRESHOLD are
# one face given to two personas.
FACE_MATCH_THRESHOLD = env.float("FACE_MATCH_THRESHOLD", default=0.6)
DUPLICATE_FACE_THRESHOLD = env.float("DUPLICATE_FACE_THRESHOLD", default=0.4)
# Replacement edits per rejected tile before it is kept, with its verdict, for the operator.
FACE_RETRIES = env.int("FACE_RETRIES", default=2)
# Compare a new base with every earlier task's bases too, not only its own task's.
FACE_DUPLICATES_ACROSS_TASKS = env.bool("FACE_DUPLICATES_ACROSS_TASKS", default=False)
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_TEXT_MODEL = env.str("OPENAI_TEXT_MODEL", default="gpt-5.4-mini")
OPENAI_IMAGE_MODEL = env.str("OPENAI_IMAGE_MODEL", default="gpt-image-2")
OPENAI_IMAGE_SIZE = env.str("OPENAI_IMAGE_SIZE", default="1024x1024")  # a "square" image: base selfie, 2x2 grids
OPENAI_TALL_IMAGE_SIZE = env.str("OPENAI_TALL_IMAGE_SIZE", default="1024x1536")  # a "portrait" image: a 2x4 grid
OPENAI_IMAGE_QUALITY = env.str("OPENAI_IMAGE_QUALITY", default="medium")
# Prices of the models, over the defaults of generation/costs/prices.py (read by integrations/openai/asks.py):
# JSON, e.g.
# {"my-model": {"per_million": {"text_input": 0.5, "image_output": 20}, "per_image": {"medium": 0.02}}}
OPENAI_PRICES = env.str("OPENAI_PRICES", default="")


# Spending caps in USD (empty: none; 0: nothing may be spent). A task's own cap may be set lower on the form, never
# higher.
TASK_BUDGET_USD = budget(env, "TASK_BUDGET_USD", "100")
MONTHLY_BUDGET_USD = budget(env, "MONTHLY_BUDGET_USD", "1000")
# Tasks one user may have waiting or running at once; a further submit is refused until one ends. Empty: no cap.
MAX_OPEN_TASKS_PER_USER = count_or_none(env, "MAX_OPEN_TASKS_PER_USER", "10")
# `manage.py generate` asks before a task whose estimate is above this, when it runs in a terminal.
CONFIRM_ABOVE_USD = env.float("CONFIRM_ABOVE_USD", default=5.0)
# The format images come back in: JPEG is smaller to send and faster to decode than PNG (a grid is split and
# re-encoded as JPEG anyway); compression 95 keeps that second encoding's loss invisible. Empty: the API's default.
OPENAI_OUTPUT_FORMAT, OPENAI_OUTPUT_COMPRESSION = output_format(env, "jpeg", 95)
# Sent only to models that accept it (gpt-image-1.5); others keep identity without it.
OPENAI_INPUT_FIDELITY = env.str("OPENAI_INPUT_FIDELITY", default="high")
# Per-try timeouts and the client's own retries; see the job timeout below.
OPENAI_TEXT_TIMEOUT = env.float("OPENAI_TEXT_TIMEOUT", default=60.0)
OPENAI_IMAGE_TIMEOUT = env.float("OPENAI_IMAGE_TIMEOUT", default=150.0)
OPENAI_MAX_RETRIES = env.int("OPENAI_MAX_RETRIES", default=2)
# Caps shared by every worker on every machine (unset: no cap).
OPENAI_IMAGES_PER_MINUTE = env.int("OPENAI_IMAGES_PER_MINUTE", default=0) or None
OPENAI_REQUESTS_PER_MINUTE = env.int("OPENAI_REQUESTS_PER_MINUTE", default=0) or None
# Calls are paced this share under the caps. A call leaves a few milliseconds after its reserved moment, by a
# varying amount, so pacing at exactly the cap lets two calls a window apart land less than a window apart: a 429
# (bench/ratelimit.py: 5 % of image calls). 5 % leaves 3 s of slack per 60 s window.
OPENAI_RATE_HEADROOM = env.float("OPENAI_RATE_HEADROOM", default=0.05)

# --- Content Credentials (C2PA): every stored image carries a manifest signed with this certificate. ---
# PEM text or a path to it: the certificate chain (leaf first) and its unencrypted private key. By default the
# development pair `manage.py c2pa_dev_cert` writes into C2PA_DEV_DIR (scripts/setup runs it on first use).
C2PA_DEV_DIR = Path(env.str("C2PA_DEV_DIR", default=str(BASE_DIR / ".c2pa")))
C2PA_SIGNING_CERT = env.str("C2PA_SIGNING_CERT", default=str(C2PA_DEV_DIR / "signer.pem"))
C2PA_SIGNING_KEY = env.str("C2PA_SIGNING_KEY", default=str(C2PA_DEV_DIR / "signer.key"))
# CAs that `verify_provenance` trusts (PEM text or a path): by default the development CA, when there is one.
C2PA_TRUST_ANCHORS = env.str("C2PA_TRUST_ANCHORS", default=str(C2PA_DEV_DIR / "ca.pem"))
# An RFC 3161 time-stamp authority, so signatures outlive the certificate (empty: none; it needs the network).
C2PA_TIMESTAMP_URL = env.str("C2PA_TIMESTAMP_URL", default="")
# The claim generator's version in every manifest: the project's own.
PRODUCT_VERSION = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]["version"]

# --- Background jobs (django-q2): the ORM broker by default, Redis when REDIS_URL is set. ---
REDIS_URL = env.str("REDIS_URL", default="")
Q_WORKERS = env.int("Q_WORKERS", default=4)
# An images unit makes its image calls in two steps one after the other (the base, then its grids in parallel),
# each of up to (OPENAI_MAX_RETRIES + 1) tries of OPENAI_IMAGE_TIMEOUT plus backoff. The job timeout sits above
# the two steps' worst case.
Q_TIMEOUT = env.int("Q_TIMEOUT", default=1200)
Q_CLUSTER = {
    "name": "avatar",
    "workers": Q_WORKERS,
    "timeout": Q_TIMEOUT,
    # Must exceed the timeout, or a slow job is handed to a second worker while still running.
    "retry": env.int("Q_RETRY", default=Q_TIMEOUT + 120),
    # Our units count their own attempts; a job that raises is acknowledged, not redelivered forever.
    "ack_failures": True,
    "max_attempts": 1,
    "queue_limit": Q_WORKERS * 2,
    # How long the ORM broker's pusher sleeps when the queue is empty: every stage change (start, data to images)
    # waits for it once. 0.2 s is django-q2's own default; 0.5 s cost ~0.3 s per stage change (bench/pipeline.py).
    "poll": env.float("Q_POLL", default=0.2),
    "catch_up": False,
    "save_limit": 1000,
    # The admin index heading of django-q2's tables (its app verbose_name): "Failed tasks" under "Background jobs"
    # read as failed generation tasks.
    "label": "Background job queue (django-q2)",
    "recycle": 200,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(LOG_LEVEL)

# Django caps index names at 30 characters for Oracle's sake; the documented
# `ix_generation_results_batch_number` has 34, well within PostgreSQL's 63 (and SQLite's no limit).
SILENCED_SYSTEM_CHECKS = ["models.E034"]


# --- Security: every protection on whenever DEBUG is off (`manage.py check --deploy` is clean). ---
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# The load balancer or proxy in front terminates TLS and says so in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"


# The pages run no inline script; images come only from here and the storage.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin sets a few style attributes; no page injects styles from elsewhere.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *image_origins(env, DEFAULT_STORAGE["OPTIONS"], AWS_STORAGE_BUCKET_NAME)],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
