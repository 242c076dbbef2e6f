"""gunicorn settings read from this folder (``gunicorn app:app`` picks this file up).

Everything can be overridden on the command line or with ``GUNICORN_CMD_ARGS``. One rule is
enforced: in production, several workers need a shared store for rate limits (``REDIS_URL``);
without it each worker would count log-in attempts on its own, silently multiplying the limit.
"""

import os

bind = os.environ.get("LMS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 60
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    production = os.environ.get("LMS_ENV", "production") == "production"
    if production and server.cfg.workers > 1 and not os.environ.get("REDIS_URL"):
        message = (
            f"Refusing to start {server.cfg.workers} workers without REDIS_URL: log-in rate limits would be "
            "counted per worker. Set REDIS_URL (see README, 'Deploying'), or run a single worker (--workers 1)."
        )
        server.log.error(message)
        raise SystemExit(message)
