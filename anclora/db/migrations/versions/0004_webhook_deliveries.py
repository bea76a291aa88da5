"""webhook deliveries and their attempts, rotating webhook secrets, anonymous tus uploads by capability

Revision ID: 0004
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import anclora.db.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the old table was never written to: it is replaced rather than altered
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('idx_webhook_deliveries_owner')
    op.drop_table('webhook_deliveries')
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('owner_key', sa.String(length=80), nullable=False),
    sa.Column('conversion_id', sa.String(length=36), nullable=True),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('body_file_id', sa.String(length=36), nullable=True),
    sa.Column('sign', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('attempts_allowed', sa.Integer(), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('lease_until', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['body_file_id'], ['files.id'], name=op.f('fk_webhook_deliveries_body_file_id_files'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversion_id'], ['conversions.id'], name=op.f('fk_webhook_deliveries_conversion_id_conversions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_webhook_deliveries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('conversion_id', 'event', name='uq_webhook_deliveries_conversion_event')
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('idx_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('idx_webhook_deliveries_owner', ['owner_key', 'created_at'], unique=False)

    op.create_table('webhook_attempts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('delivery_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index('idx_webhook_attempts_delivery', ['delivery_id', 'number'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_secret_previous', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('webhook_secret_rotated_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('resumable_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_session', sa.String(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resumable_uploads', schema=None) as batch_op:
        batch_op.drop_column('sealed_session')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('webhook_secret_rotated_at')
        batch_op.drop_column('webhook_secret_previous')

    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.drop_index('idx_webhook_attempts_delivery')
    op.drop_table('webhook_attempts')

    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('idx_webhook_deliveries_owner')
        batch_op.drop_index('idx_webhook_deliveries_due')
    op.drop_table('webhook_deliveries')
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('conversion_id', sa.String(length=36), nullable=False),
    sa.Column('owner_key', sa.String(length=80), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('next_attempt_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversion_id'], ['conversions.id'], name=op.f('fk_webhook_deliveries_conversion_id_conversions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('idx_webhook_deliveries_owner', ['owner_key', 'created_at'], unique=False)
