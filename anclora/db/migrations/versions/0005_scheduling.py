"""result cache keys, fair-share turns

Revision ID: 0005
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cache_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('cached', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('queue_turn', sa.Float(), nullable=False, server_default='0'))
        batch_op.create_index('idx_conversions_status_turn', ['status', 'queue_turn', 'created_at'], unique=False)
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cache_key', sa.String(length=64), nullable=True))
        batch_op.create_index('idx_files_cache_key', ['cache_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_index('idx_files_cache_key')
        batch_op.drop_column('cache_key')
    with op.batch_alter_table('conversions', schema=None) as batch_op:
        batch_op.drop_index('idx_conversions_status_turn')
        batch_op.drop_column('queue_turn')
        batch_op.drop_column('cached')
        batch_op.drop_column('cache_key')
