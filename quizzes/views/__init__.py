"""Quiz screens. One blueprint; the routes live in the modules imported below:

* :mod:`quizzes.views.bank` — the question bank (categories, questions, import and export);
* :mod:`quizzes.views.builder` — building a quiz in a course;
* :mod:`quizzes.views.taking` — a trainee's attempts;
* :mod:`quizzes.views.results` — results, hand grading, regrading, exports and item analysis.
"""

from flask import Blueprint

blueprint = Blueprint("quizzes", __name__, url_prefix="/quizzes", template_folder="../templates",
                      static_folder="../static", static_url_path="/static")

from quizzes.views import bank, builder, results, taking  # noqa: E402,F401  (they attach routes)
