"""One settings file. Everything that differs between machines comes from the environment.

SQLite is the embedded default; DATABASE_URL=postgres://... switches to PostgreSQL. REDIS_URL (or
CACHE_URL) points the shared cache, and with it the public throttles, at Redis.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from redis.backoff import NoBackoff
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """1/0, true/false, yes/no, on/off; unset or empty is the default; anything else refuses to
    start (a typo such as DEBUG=ture must not quietly mean "off")."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name}={os.environ[name]!r} is not a yes/no value: set {name} to 1 or 0 "
        "(true/false, yes/no and on/off are understood too)."
    )


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if not number > 0 or number == float("inf"):
        raise ImproperlyConfigured(f"{name}={value!r} must be a positive number.")
    return number


def env_proxy_ssl_header(name: str, default: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto,https` (Django's `HTTP_X_FORWARDED_PROTO,https` works too): a request
    is HTTPS when that header has that value. Empty, 0 or off: no such header is trusted."""
    raw = os.environ.get(name, default).strip()
    if raw.lower() in {"", "0", "off", "false", "no", "none"}:
        return None
    header, _, value = (part.strip() for part in raw.partition(","))
    if not header or not value or "," in value:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a header and a value: use e.g. X-Forwarded-Proto,https"
        )
    header = header.upper().replace("-", "_")
    return (header if header.startswith("HTTP_") else f"HTTP_{header}", value)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The development key works only with DEBUG on (`make run` sets DEBUG=1). Without DEBUG the
# server refuses to start rather than sign sessions and status links with a key in the source.
DEV_SECRET_KEY = "dev-insecure-repair-desk-key-change-me-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY", "").strip() or (DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", DEV_SECRET_KEY):
    problem = "is not set" if not SECRET_KEY else "is the built-in development key"
    raise ImproperlyConfigured(
        f"SECRET_KEY {problem} and DEBUG is off. Set the SECRET_KEY environment variable to a"
        " long random value, the same on every app server (python3 -c 'import secrets;"
        " print(secrets.token_urlsafe(50))'), or set DEBUG=1 on a development machine."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "axes",
    "core",
    "service_center",
    "parts",
    "workflows",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A view that lost the database answers 503 "try again", not 500 (core/errors.py).
    "core.middleware.DatabaseUnavailableMiddleware",
    "core.middleware.RejectControlCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out sign-in into the 429 page/JSON (service_center/signin.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "service_center.urls"
WSGI_APPLICATION = "service_center.wsgi.application"
ASGI_APPLICATION = "service_center.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# A kept connection (CONN_MAX_AGE > 0) may have died with a PostgreSQL restart or a terminated
# backend: the health check tests it before a request reuses it, and opens a new one if needed.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 0), conn_health_checks=True
    )
}
# Seconds a 503 `database_unavailable` answer tells the client to wait (Retry-After).
DATABASE_RETRY_AFTER = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite ignores select_for_update; IMMEDIATE takes the write lock at BEGIN so concurrent
    # writers queue on `timeout` instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
# PostgreSQL's JIT compiles a query's expressions once its estimated cost passes jit_above_cost:
# 15-30 ms on every desk board of a 10,000-repair center and ~400 ms on a report, for queries
# that then run in a few ms (bench/run.py). Off for this service's connections by default;
# PG_JIT=server leaves the server's own setting (e.g. behind a pooler that rejects the startup
# `options` parameter).
PG_JIT = env_str("PG_JIT", "off")
if PG_JIT not in ("off", "server"):
    raise ImproperlyConfigured("PG_JIT must be 'off' or 'server'")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and PG_JIT == "off":
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Idempotency-Key (core/idempotency.py; README "Idempotency keys") -----------------------
# Answers are kept in the database this long (then pruned by the beat task / prune command).
IDEMPOTENCY_RETENTION_HOURS = env_int("IDEMPOTENCY_RETENTION_HOURS", 24)
# A retry that arrives while the first request still runs waits this long for its answer (on
# PostgreSQL: lock_timeout on the key's row), then gets 409 `conflict` with Retry-After.
IDEMPOTENCY_WAIT_SECONDS = env_int("IDEMPOTENCY_WAIT_SECONDS", 10)

# --- Cache (throttles, lockouts, idempotency replays) ---------------------------------------
CACHE_URL = env_str("CACHE_URL", "") or env_str("REDIS_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.PooledRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "repairdesk"),
            # Redis is an accelerator (core/cache.py): a dead one costs milliseconds, then is
            # skipped for BREAKER_SECONDS while a per-process cache answers in its place.
            "BREAKER_SECONDS": env_float("REDIS_BREAKER_SECONDS", 5.0),
            "OPTIONS": {
                "socket_connect_timeout": env_float("REDIS_CONNECT_TIMEOUT", 0.25),
                "socket_timeout": env_float("REDIS_SOCKET_TIMEOUT", 0.5),
                # One immediate retry: a pooled connection Redis dropped (a restart) reconnects.
                "retry": Retry(NoBackoff(), 1),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
AUTHENTICATION_BACKENDS = [
    "service_center.signin.LockoutBackend",  # refuses a locked-out client before any password
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in lock-out on /login/, /admin/login/ and the token endpoint: django-axes with our handler
# (two limits), counters in the default cache (Redis with REDIS_URL). See service_center/signin.py.
AXES_HANDLER = "service_center.signin.SignInLockout"
AXES_FAILURE_LIMIT = max(env_int("SIGNIN_FAILURES_PER_USER", 5), 1)  # per (username, address)
SIGNIN_FAILURES_PER_ADDRESS = max(env_int("SIGNIN_FAILURES_PER_ADDRESS", 20), 1)
AXES_COOLOFF_TIME = timedelta(minutes=max(env_int("SIGNIN_LOCKOUT_MINUTES", 15), 1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_CLIENT_IP_CALLABLE = "core.net.client_address"
AXES_LOCKOUT_CALLABLE = "service_center.signin.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the wait shown is the wait there is
AXES_ENABLE_ADMIN = False  # attempts are in the cache, not in axes' tables
AXES_VERBOSE = False

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "ko")
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = "KR"
PHONENUMBER_DEFAULT_FORMAT = "NATIONAL"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded files (intake photos): a local folder by default; README "Photos" for S3.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"  # never served as is: photos go through workflows/views/photos.py
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Request limits -------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
# Uploads above this go to a temporary file rather than memory (photos: core/images.py).
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

# --- Domain settings ------------------------------------------------------------------------
# --- Delivery of the outbox (workflows/notify.py) ---------------------------------------------
# Dotted path of the class that delivers SMS rows (like Django's EMAIL_BACKEND): the console by
# default; "workflows.solapi.SolapiBackend" sends through SOLAPI (SMS_* settings below).
NOTIFICATION_BACKEND = env_str("NOTIFICATION_BACKEND", "workflows.notify.ConsoleBackend")
# The class that delivers e-mail rows; the default hands them to Django's EMAIL_BACKEND.
NOTIFICATION_EMAIL_BACKEND = env_str("NOTIFICATION_EMAIL_BACKEND", "workflows.notify.EmailBackend")
# A row is tried this many times, then left failed with its last error for staff to see.
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 5)
# After a failed attempt n the row waits RETRY_BASE * 2**(n-1) seconds, at most RETRY_CAP.
NOTIFICATION_RETRY_BASE = env_int("NOTIFICATION_RETRY_BASE", 60)
NOTIFICATION_RETRY_CAP = env_int("NOTIFICATION_RETRY_CAP", 3600)
# A row claimed longer ago than this (seconds) belonged to a worker that died mid-send: it is
# marked failed ("interrupted"), never resent blindly, since it may have reached the customer.
NOTIFICATION_STALE_CLAIM = env_int("NOTIFICATION_STALE_CLAIM", 600)

# E-mail: SMTP when EMAIL_HOST is set, else printed to the console (Django's own backends).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # implicit TLS, usually port 465
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)  # seconds; a hung server must not hold a worker
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "repair-desk@localhost")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")

# SMS through SOLAPI (workflows/solapi.py): the API key and secret from its console, the
# registered caller number the messages come from, and the endpoint (tests point it at a local
# server). With ALIMTALK_PF_ID set, kinds listed in ALIMTALK_TEMPLATES ("kind=templateId,...",
# each template approved by Kakao) go as KakaoTalk AlimTalk; everything else as SMS/LMS.
SMS_API_KEY = env_str("SMS_API_KEY", "")
SMS_API_SECRET = env_str("SMS_API_SECRET", "")
SMS_SENDER = env_str("SMS_SENDER", "")
SMS_API_URL = env_str("SMS_API_URL", "https://api.solapi.com/messages/v4/send")
SMS_API_TIMEOUT = env_int("SMS_API_TIMEOUT", 10)  # seconds, connect and read
ALIMTALK_PF_ID = env_str("ALIMTALK_PF_ID", "")
ALIMTALK_TEMPLATES = {
    kind.strip(): template.strip()
    for kind, _, template in (item.partition("=") for item in env_list("ALIMTALK_TEMPLATES"))
    if template.strip()
}
# Public status lookups: per client IP and per ticket (wrong-phone guesses lock the ticket).
PUBLIC_LOOKUP_RATE_PER_IP = env_int("PUBLIC_LOOKUP_RATE_PER_IP", 30)  # per minute
PUBLIC_LOOKUP_FAILURES_PER_TICKET = env_int("PUBLIC_LOOKUP_FAILURES_PER_TICKET", 5)  # per hour
# While Redis is unreachable, throttle and lock-out counts are per process: each limit above (and
# the sign-in ones) is divided by this, so N processes together allow at most N/this times it.
THROTTLE_DIVISOR_WITHOUT_REDIS = max(env_int("THROTTLE_DIVISOR_WITHOUT_REDIS", 2), 1)
# Intake photos: how many per repair, how long a customer's signed photo link works (seconds).
PHOTOS_PER_REPAIR = env_int("PHOTOS_PER_REPAIR", 20)
PHOTO_LINK_MAX_AGE = env_int("PHOTO_LINK_MAX_AGE", 3600)
# Number of trusted proxies in front of the app (X-Forwarded-For hops to honour). 0 = none.
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# --- Background work (Celery; README "Several servers: Celery workers and beat") ---------
# Empty: no broker, and delivery runs in the web process after commit (workflows/notify.py).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "repairdesk")
# The outbox row is the truth and a second run of a task is a no-op (the compare-and-swap claim),
# so a task is acknowledged only once it ran: a worker that dies mid-task loses nothing.
CELERY_TASK_ACKS_LATE = env_bool("CELERY_TASK_ACKS_LATE", True)
CELERY_TASK_REJECT_ON_WORKER_LOST = CELERY_TASK_ACKS_LATE
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # short tasks, fair spread over the workers
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # no result backend: the outbox row records the outcome
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that commits must not hang on a broker that is down: short connect and publish
# retries, then the row stays pending for resend_stuck.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TIMEZONE = TIME_ZONE
# /healthz's broker probe (service_center/views_health.py): connect and answer within this.
HEALTH_BROKER_TIMEOUT = env_float("HEALTH_BROKER_TIMEOUT", 0.5)
# Exactly one `celery beat` runs these; each task is safe to run twice anyway (reminders claim
# `reminded_at`, alerts have one idempotency key per promise, deliveries claim their row).
CELERY_BEAT_SCHEDULE = {
    "appointment-reminders": {
        "task": "workflows.tasks.send_appointment_reminders",
        "schedule": timedelta(hours=1),
        "options": {"expires": 30 * 60},
    },
    "overdue-promise-alerts": {
        "task": "workflows.tasks.alert_overdue_promises",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 10 * 60},
    },
    "resend-stuck": {
        "task": "workflows.tasks.resend_stuck",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},  # a backlog of these while workers are down is useless
    },
    "prune-idempotency-keys": {
        "task": "workflows.tasks.prune_idempotency_keys",
        "schedule": timedelta(hours=1),
        "options": {"expires": 30 * 60},
    },
}

# --- DRF ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.StaffTokenAuthentication",  # token, user, center, roles: one query
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    # 0 means "ignore X-Forwarded-For" to DRF too (None would trust it); core.net decides ours.
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Repair desk API",
    "DESCRIPTION": "Repair / after-sales service-center workflow with a readiness gate.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- HTTPS (README "Production settings") -----------------------------------------------------
# Behind a TLS-terminating proxy the scheme comes from its header; by default the usual one is
# trusted only when there is a proxy (NUM_PROXIES > 0) to set it.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header(
    "SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto,https" if NUM_PROXIES else ""
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The load balancer's health checks may come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^livez/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "ERROR"},
    },
}

STATICFILES_DIRS = [BASE_DIR / "static"]
