"""Signals the platform and its features send; a lower layer announces, a higher one listens.

Connect with ``course_completed.connect(receiver)``; receivers get the sender (the app) and the
keyword arguments documented on each signal. Receivers run inside the sender's transaction:
they may add rows to ``session`` but must not commit.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent once when an enrolment is recorded as completed.
#: Keyword arguments: ``session`` (SQLAlchemy session), ``enrolment`` (courses.models.Enrolment),
#: ``now`` (aware UTC datetime of the completion).
course_completed = _signals.signal("course-completed")
