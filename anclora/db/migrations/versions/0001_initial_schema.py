"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa
import anclora.db.base


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('processed_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_verified', sa.Boolean(), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('plan', sa.String(length=32), nullable=False),
    sa.Column('referral_code', sa.String(length=32), nullable=True),
    sa.Column('referred_by_id', sa.String(length=36), nullable=True),
    sa.Column('streak_days', sa.Integer(), nullable=False),
    sa.Column('last_conversion_on', sa.Date(), nullable=True),
    sa.Column('webhook_secret', sa.String(length=64), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signup_address', sa.String(length=45), nullable=True),
    sa.Column('tokens_valid_after', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['referred_by_id'], ['users.id'], name=op.f('fk_users_referred_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('referral_code', name=op.f('uq_users_referral_code'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('idx_users_active', ['is_active'], unique=False, postgresql_where=sa.text('is_active = true'), sqlite_where=sa.text('is_active = 1'))
        batch_op.create_index('idx_users_email', ['email'], unique=False)
        batch_op.create_index('idx_users_level', ['level'], unique=False)

    op.create_table('api_keys',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index('idx_api_keys_user', ['user_id'], unique=False)

    op.create_table('credit_entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_credit_entries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_entries')),
    sa.UniqueConstraint('reason', 'source', name='uq_credit_entries_reason_source')
    )
    with op.batch_alter_table('credit_entries', schema=None) as batch_op:
        batch_op.create_index('idx_credit_entries_user', ['user_id'], unique=False)

    op.create_table('email_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_tokens_token_hash'))
    )
    op.create_table('files',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=128), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('conversion_status', sa.String(length=16), nullable=False),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_files_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_files')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_files_storage_key'))
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.create_index('idx_files_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('idx_files_session_id', ['session_id'], unique=False)
        batch_op.create_index('idx_files_status', ['conversion_status'], unique=False)
        batch_op.create_index('idx_files_user_id', ['user_id'], unique=False)

    op.create_table('ops_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('playbook', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rc', sa.Integer(), nullable=True),
    sa.Column('check_mode', sa.Boolean(), nullable=False),
    sa.Column('limit', sa.String(length=255), nullable=True),
    sa.Column('extravars', sa.JSON(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ops_runs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_runs'))
    )
    with op.batch_alter_table('ops_runs', schema=None) as batch_op:
        batch_op.create_index('idx_ops_runs_created', ['created_at'], unique=False)

    op.create_table('purchases',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('pack', sa.String(length=64), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payment_intent', sa.String(length=255), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_purchases_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases'))
    )
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.create_index('idx_purchases_payment_intent', ['payment_intent'], unique=False)
        batch_op.create_index('idx_purchases_user', ['user_id'], unique=False)

    op.create_table('refresh_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refresh_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('idx_refresh_tokens_family', ['family_id'], unique=False)
        batch_op.create_index('idx_refresh_tokens_user', ['user_id'], unique=False)

    op.create_table('user_rewards',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('reward_type', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_rewards_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_rewards')),
    sa.UniqueConstraint('user_id', 'reward_type', 'source', name='uq_user_rewards_once')
    )
    with op.batch_alter_table('user_rewards', schema=None) as batch_op:
        batch_op.create_index('idx_user_rewards_created', ['created_at'], unique=False)
        batch_op.create_index('idx_user_rewards_type', ['reward_type'], unique=False)
        batch_op.create_index('idx_user_rewards_user_id', ['user_id'], unique=False)

    op.create_table('conversions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('file_id', sa.String(length=36), nullable=True),
    sa.Column('from_format', sa.String(length=32), nullable=False),
    sa.Column('to_format', sa.String(length=32), nullable=False),
    sa.Column('converter', sa.String(length=100), nullable=False),
    sa.Column('via', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('result_file_id', sa.String(length=36), nullable=True),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('owner_key', sa.String(length=80), nullable=False),
    sa.Column('webhook_url', sa.Text(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('lease_until', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', anclora.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['files.id'], name=op.f('fk_conversions_file_id_files'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['result_file_id'], ['files.id'], name=op.f('fk_conversions_result_file_id_files'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conversions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversions')),
    sa.UniqueConstraint('owner_key', 'idempotency_key', name='uq_conversions_idempotency')
    )
    with op.batch_alter_table('conversions', schema=None) as batch_op:
        batch_op.create_index('idx_conversions_owner', ['owner_key', 'created_at'], unique=False)
        batch_op.create_index('idx_conversions_status', ['status', 'created_at'], unique=False)

    op.create_table('conversion_transactions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('conversion_id', sa.String(length=36), nullable=True),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('free', sa.Boolean(), nullable=False),
    sa.Column('payment_status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', anclora.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conversion_transactions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversion_transactions')),
    sa.UniqueConstraint('conversion_id', name='uq_conversion_transactions_conversion_id')
    )
    with op.batch_alter_table('conversion_transactions', schema=None) as batch_op:
        batch_op.create_index('idx_transactions_created', ['created_at'], unique=False)
        batch_op.create_index('idx_transactions_status', ['payment_status'], unique=False)
        batch_op.create_index('idx_transactions_user_id', ['user_id'], unique=False)

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



def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('idx_webhook_deliveries_owner')

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('conversion_transactions', schema=None) as batch_op:
        batch_op.drop_index('idx_transactions_user_id')
        batch_op.drop_index('idx_transactions_status')
        batch_op.drop_index('idx_transactions_created')

    op.drop_table('conversion_transactions')
    with op.batch_alter_table('conversions', schema=None) as batch_op:
        batch_op.drop_index('idx_conversions_status')
        batch_op.drop_index('idx_conversions_owner')

    op.drop_table('conversions')
    with op.batch_alter_table('user_rewards', schema=None) as batch_op:
        batch_op.drop_index('idx_user_rewards_user_id')
        batch_op.drop_index('idx_user_rewards_type')
        batch_op.drop_index('idx_user_rewards_created')

    op.drop_table('user_rewards')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index('idx_refresh_tokens_user')
        batch_op.drop_index('idx_refresh_tokens_family')

    op.drop_table('refresh_tokens')
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.drop_index('idx_purchases_user')
        batch_op.drop_index('idx_purchases_payment_intent')

    op.drop_table('purchases')
    with op.batch_alter_table('ops_runs', schema=None) as batch_op:
        batch_op.drop_index('idx_ops_runs_created')

    op.drop_table('ops_runs')
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_index('idx_files_user_id')
        batch_op.drop_index('idx_files_status')
        batch_op.drop_index('idx_files_session_id')
        batch_op.drop_index('idx_files_expires_at')

    op.drop_table('files')
    op.drop_table('email_tokens')
    with op.batch_alter_table('credit_entries', schema=None) as batch_op:
        batch_op.drop_index('idx_credit_entries_user')

    op.drop_table('credit_entries')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index('idx_api_keys_user')

    op.drop_table('api_keys')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('idx_users_level')
        batch_op.drop_index('idx_users_email')
        batch_op.drop_index('idx_users_active', postgresql_where=sa.text('is_active = true'), sqlite_where=sa.text('is_active = 1'))

    op.drop_table('users')
    op.drop_table('stripe_events')
