"""resumable (tus) uploads

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import anclora.db.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resumable_uploads',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('owner_key', sa.String(length=80), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('upload_metadata', sa.JSON(), nullable=False),
    sa.Column('lock_token', sa.String(length=32), nullable=True),
    sa.Column('locked_until', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('file_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['files.id'], name=op.f('fk_resumable_uploads_file_id_files'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_resumable_uploads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resumable_uploads'))
    )
    with op.batch_alter_table('resumable_uploads', schema=None) as batch_op:
        batch_op.create_index('idx_resumable_uploads_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('idx_resumable_uploads_owner_key', ['owner_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resumable_uploads', schema=None) as batch_op:
        batch_op.drop_index('idx_resumable_uploads_owner_key')
        batch_op.drop_index('idx_resumable_uploads_expires_at')
    op.drop_table('resumable_uploads')
