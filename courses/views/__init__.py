"""Course screens. One blueprint; the routes live in the modules imported below."""

from flask import Blueprint

blueprint = Blueprint("courses", __name__, url_prefix="/courses", template_folder="../templates")

from courses.views import authoring, enrolment, learning, reference  # noqa: E402,F401  (they attach routes)
