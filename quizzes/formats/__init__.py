"""Readers and writers of question files: GIFT, Aiken, Moodle XML and the Excel template.

Every reader is pure (no Flask, no database): it takes the file's text (or bytes for Excel) and
returns a :class:`~quizzes.formats.base.ParseResult` — the questions it could read and one
:class:`~quizzes.formats.base.Problem` per item it could not, so that a preview lists every problem
before anything is saved. A malformed item never stops the reading of the items after it.
"""
