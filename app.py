"""The composition root: the only module that knows every package.

    flask --app app run          gunicorn app:app
"""

from lms import create_app

FEATURES: list = []  # feature packages (courses, quizzes, ...) are added here as they land

app = create_app(features=FEATURES)
