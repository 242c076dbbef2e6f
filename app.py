"""The composition root: the only module that knows every package.

    flask --app app run          gunicorn app:app
"""

import courses
import quizzes
from lms import create_app

#: Feature packages, lowest layer first (DESIGN.md: lms <- courses <- quizzes <- certificates <- reports).
FEATURES: list = [courses, quizzes]

app = create_app(features=FEATURES)
