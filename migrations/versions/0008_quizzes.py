"""Quizzes: the question bank, quizzes in courses, attempts and grades.

* ``question_categories``: a tree (``parent_id``) with the full ``path`` unique, so two
  categories of one parent never share a name.
* ``questions``: the identity of a question (category, tags, the current version's number and,
  for lists, copies of its type and name); ``question_conventions`` and ``question_contents``
  tag it.
* ``question_versions`` and ``question_options``: what a question said, never updated once
  written; an edit adds the next version.
* ``quizzes`` (in a course, optionally on a lesson) and ``quiz_slots`` (a fixed question or N
  drawn at random from a category).
* ``quiz_attempts``: unique (quiz, person, number), and a partial unique index allowing one
  attempt in progress per person and quiz (SQLite and PostgreSQL both support it), so parallel
  starts can never exceed the attempts allowed. ``attempt_questions``: the exact version and
  option order each attempt showed, the response and its grade. ``quiz_grades``: each person's
  grade per quiz (completion and reports read it).

New tables only: the downgrade drops them, with every question and attempt in them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:40:28.866475

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('question_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('path', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('sort_key', sa.LargeBinary(length=1024), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_question_categories_created_by_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_id'], ['question_categories.id'], name=op.f('fk_question_categories_parent_id_question_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_categories')),
    sa.UniqueConstraint('path', name=op.f('uq_question_categories_path'))
    )
    with op.batch_alter_table('question_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_categories_parent_id'), ['parent_id'], unique=False)

    op.create_table('questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('current_number', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('single_choice', 'multiple_response', 'true_false', 'short_answer', 'numerical', 'matching', 'essay', 'description', name='question_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('current_number >= 1', name=op.f('ck_questions_question_number_positive')),
    sa.ForeignKeyConstraint(['category_id'], ['question_categories.id'], name=op.f('fk_questions_category_id_question_categories')),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_questions_created_by_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions'))
    )
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questions_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_questions_type'), ['type'], unique=False)

    op.create_table('question_contents',
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('content_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['content_id'], ['content_areas.id'], name=op.f('fk_question_contents_content_id_content_areas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_question_contents_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', 'content_id', name=op.f('pk_question_contents'))
    )
    op.create_table('question_conventions',
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('convention_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['convention_id'], ['conventions.id'], name=op.f('fk_question_conventions_convention_id_conventions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_question_conventions_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', 'convention_id', name=op.f('pk_question_conventions'))
    )
    op.create_table('question_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('single_choice', 'multiple_response', 'true_false', 'short_answer', 'numerical', 'matching', 'essay', 'description', name='question_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_format', sa.Enum('html', 'markdown', 'plain', name='text_format', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('general_feedback', sa.Text(), nullable=False),
    sa.Column('default_mark', sa.Numeric(precision=9, scale=3), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('default_mark >= 0', name=op.f('ck_question_versions_question_mark_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_question_versions_created_by_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_question_versions_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_versions')),
    sa.UniqueConstraint('question_id', 'number', name='uq_question_version_number')
    )
    op.create_table('question_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_format', sa.Enum('html', 'markdown', 'plain', name='text_format', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('fraction', sa.Numeric(precision=9, scale=7), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=False),
    sa.Column('match', sa.Text(), nullable=False),
    sa.Column('tolerance', sa.Float(), nullable=False),
    sa.CheckConstraint('fraction >= -1 AND fraction <= 1', name=op.f('ck_question_options_option_fraction_range')),
    sa.CheckConstraint('tolerance >= 0', name=op.f('ck_question_options_option_tolerance_not_negative')),
    sa.ForeignKeyConstraint(['version_id'], ['question_versions.id'], name=op.f('fk_question_options_version_id_question_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_options'))
    )
    with op.batch_alter_table('question_options', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_options_version_id'), ['version_id'], unique=False)

    op.create_table('quizzes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('intro_source', sa.Text(), nullable=False),
    sa.Column('intro_html', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('time_limit_minutes', sa.Integer(), nullable=True),
    sa.Column('attempts_allowed', sa.Integer(), nullable=False),
    sa.Column('grading_method', sa.Enum('highest', 'average', 'first', 'last', name='grading_method', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('max_mark', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('pass_mark', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('bands', sa.JSON(), nullable=False),
    sa.Column('shuffle_questions', sa.Boolean(), nullable=False),
    sa.Column('shuffle_options', sa.Boolean(), nullable=False),
    sa.Column('questions_per_page', sa.Integer(), nullable=False),
    sa.Column('navigation', sa.Enum('free', 'sequential', name='quiz_navigation', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('open_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_score', sa.Enum('immediately', 'after_close', 'never', name='review_score_when', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('review_answers', sa.Enum('immediately', 'after_close', 'never', name='review_answers_when', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('review_feedback', sa.Enum('immediately', 'after_close', 'never', name='review_feedback_when', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('required_for_completion', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('attempts_allowed >= 0', name=op.f('ck_quizzes_quiz_attempts_not_negative')),
    sa.CheckConstraint('max_mark > 0 AND pass_mark >= 0 AND pass_mark <= max_mark', name=op.f('ck_quizzes_quiz_marks')),
    sa.CheckConstraint('open_at IS NULL OR close_at IS NULL OR open_at < close_at', name=op.f('ck_quizzes_quiz_window')),
    sa.CheckConstraint('questions_per_page >= 1', name=op.f('ck_quizzes_quiz_page_size')),
    sa.CheckConstraint('time_limit_minutes IS NULL OR time_limit_minutes > 0', name=op.f('ck_quizzes_quiz_limit_positive')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_quizzes_course_id_courses'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_quizzes_created_by_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_quizzes_lesson_id_lessons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quizzes'))
    )
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quizzes_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quizzes_lesson_id'), ['lesson_id'], unique=False)

    op.create_table('quiz_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('in_progress', 'finished', name='attempt_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('page', sa.Integer(), nullable=False),
    sa.Column('mark', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.CheckConstraint("state <> 'finished' OR finished_at IS NOT NULL", name=op.f('ck_quiz_attempts_attempt_finished_has_time')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_quiz_attempts_person_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_attempts_quiz_id_quizzes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_attempts')),
    sa.UniqueConstraint('quiz_id', 'person_id', 'number', name='uq_attempt_number')
    )
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_attempts_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_attempts_quiz_id'), ['quiz_id'], unique=False)
        batch_op.create_index('uq_attempt_in_progress', ['quiz_id', 'person_id'], unique=True, sqlite_where=sa.text("state = 'in_progress'"), postgresql_where=sa.text("state = 'in_progress'"))

    op.create_table('quiz_grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('grade', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('passed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_quiz_grades_person_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_grades_quiz_id_quizzes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_grades')),
    sa.UniqueConstraint('quiz_id', 'person_id', name='uq_quiz_grade_person')
    )
    with op.batch_alter_table('quiz_grades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_grades_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_grades_quiz_id'), ['quiz_id'], unique=False)

    op.create_table('quiz_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('fixed', 'random', name='slot_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('include_subcategories', sa.Boolean(), nullable=False),
    sa.Column('convention_id', sa.Integer(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('mark', sa.Numeric(precision=9, scale=3), nullable=False),
    sa.CheckConstraint("(kind = 'fixed' AND question_id IS NOT NULL AND category_id IS NULL) OR (kind = 'random' AND category_id IS NOT NULL AND question_id IS NULL)", name=op.f('ck_quiz_slots_slot_fixed_or_random')),
    sa.CheckConstraint('count >= 1 AND count <= 500', name=op.f('ck_quiz_slots_slot_count')),
    sa.CheckConstraint('mark >= 0', name=op.f('ck_quiz_slots_slot_mark_not_negative')),
    sa.ForeignKeyConstraint(['category_id'], ['question_categories.id'], name=op.f('fk_quiz_slots_category_id_question_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['convention_id'], ['conventions.id'], name=op.f('fk_quiz_slots_convention_id_conventions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_quiz_slots_question_id_questions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_slots_quiz_id_quizzes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_slots'))
    )
    with op.batch_alter_table('quiz_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_slots_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_slots_quiz_id'), ['quiz_id'], unique=False)

    op.create_table('attempt_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('page', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('key_version_id', sa.Integer(), nullable=True),
    sa.Column('option_order', sa.JSON(), nullable=False),
    sa.Column('max_mark', sa.Numeric(precision=9, scale=3), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fraction', sa.Numeric(precision=9, scale=7), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('graded_by_id', sa.Integer(), nullable=True),
    sa.Column('graded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['quiz_attempts.id'], name=op.f('fk_attempt_questions_attempt_id_quiz_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['graded_by_id'], ['people.id'], name=op.f('fk_attempt_questions_graded_by_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['key_version_id'], ['question_versions.id'], name=op.f('fk_attempt_questions_key_version_id_question_versions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['version_id'], ['question_versions.id'], name=op.f('fk_attempt_questions_version_id_question_versions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_questions')),
    sa.UniqueConstraint('attempt_id', 'position', name='uq_attempt_question_position')
    )
    with op.batch_alter_table('attempt_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_questions_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_questions_version_id'), ['version_id'], unique=False)



def downgrade():
    with op.batch_alter_table('attempt_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_questions_version_id'))
        batch_op.drop_index(batch_op.f('ix_attempt_questions_attempt_id'))

    op.drop_table('attempt_questions')
    with op.batch_alter_table('quiz_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_slots_quiz_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_slots_question_id'))

    op.drop_table('quiz_slots')
    with op.batch_alter_table('quiz_grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_grades_quiz_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_grades_person_id'))

    op.drop_table('quiz_grades')
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('uq_attempt_in_progress', sqlite_where=sa.text("state = 'in_progress'"), postgresql_where=sa.text("state = 'in_progress'"))
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_quiz_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_person_id'))

    op.drop_table('quiz_attempts')
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quizzes_lesson_id'))
        batch_op.drop_index(batch_op.f('ix_quizzes_course_id'))

    op.drop_table('quizzes')
    with op.batch_alter_table('question_options', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_options_version_id'))

    op.drop_table('question_options')
    op.drop_table('question_versions')
    op.drop_table('question_conventions')
    op.drop_table('question_contents')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questions_type'))
        batch_op.drop_index(batch_op.f('ix_questions_category_id'))

    op.drop_table('questions')
    with op.batch_alter_table('question_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_categories_parent_id'))

    op.drop_table('question_categories')
