"""The platform every feature stands on. :func:`create_app` reads as a table of contents.

Feature packages (courses, quizzes, ...) are handed to the factory by ``app.py``; each exposes
``blueprint`` and ``init_app(app)``. This package imports none of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from flask import Blueprint, Flask


class Feature(Protocol):
    blueprint: Blueprint

    def init_app(self, app: Flask) -> None: ...


def create_app(features: Iterable[Feature] = (), test_config: Mapping[str, Any] | None = None) -> Flask:
    from lms.config import load_config
    from lms.request_limits import LmsRequest

    app = Flask(__name__, instance_relative_config=True)
    app.request_class = LmsRequest  # form and body limits, checked before parsing
    app.config.update(load_config(app.instance_path, overrides=test_config, command_line=_serving_a_command()))
    register_url_converters(app)
    os.makedirs(app.instance_path, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_features(app, features)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def _serving_a_command() -> bool:
    """True when the ``flask`` command line loads the app for one of its commands (``lms …``,
    ``db …``, ``--help``) rather than to serve pages (``flask run``, gunicorn)."""
    import click

    context = click.get_current_context(silent=True)
    # The flask group loads the app to find its commands (its context is "flask"); only the
    # built-in ``run`` loads it from its own context.
    return context is not None and context.info_name != "run"


def register_url_converters(app: Flask) -> None:
    """``<int:...>`` in every route only matches ids the database can hold (else 404, not 500)."""
    from werkzeug.routing import IntegerConverter

    class DatabaseId(IntegerConverter):
        def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
            super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    app.url_map.converters["int"] = DatabaseId


def register_extensions(app: Flask) -> None:
    from lms.auth import init_login
    from lms.db import configure_engines
    from lms.extensions import babel, bootstrap, csrf, db, limiter, migrate
    from lms.i18n import install_template_gettext, select_locale, select_timezone
    from lms.jobs import init_jobs
    from lms.storage import init_storage

    db.init_app(app)
    configure_engines(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations"))
    install_template_gettext(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    init_login(app)
    init_storage(app)
    init_jobs(app)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)


def register_blueprints(app: Flask) -> None:
    from lms.views import audit, auth, imports, jobs, main, people, units

    for module in (main, auth, units, people, imports, audit, jobs):
        app.register_blueprint(module.bp)


def register_features(app: Flask, features: Iterable[Feature]) -> None:
    for feature in features:
        app.register_blueprint(feature.blueprint)
        feature.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from lms.views.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from lms.views.hooks import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from lms.views.helpers import register

    register(app)


def register_commands(app: Flask) -> None:
    from lms.cli import lms_group

    app.cli.add_command(lms_group)
