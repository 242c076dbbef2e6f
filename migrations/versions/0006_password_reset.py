"""password reset: links sent by e-mail to choose a new password (self-service reset)

* ``password_resets``: one row per link sent. Only the SHA-256 of the link's token is kept (a copy
  of the database gives no usable link). A link works once (``used_at``), until ``expires_at``,
  and is void once a newer link is sent or the password is changed another way (``revoked_at``).
  Rows go with their person (``ON DELETE CASCADE``), as login sessions do.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:12:40.512338

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # Written by hand in the form Alembic generates (timestamps as timezone-aware DateTime).
    op.create_table('password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_password_resets_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_resets_token_hash'))
    )
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_resets_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_resets_person_id'))

    op.drop_table('password_resets')
