"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 13:56:25.409082
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spec_yaml", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "do_not_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_url", sa.String(length=512), nullable=True),
        sa.Column("linkedin_profile_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "profile_url IS NOT NULL OR linkedin_profile_id IS NOT NULL",
            name=op.f("ck_do_not_contact_has_key"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_do_not_contact")),
        sa.UniqueConstraint(
            "linkedin_profile_id", name=op.f("uq_do_not_contact_linkedin_profile_id")
        ),
        sa.UniqueConstraint("profile_url", name=op.f("uq_do_not_contact_profile_url")),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("is_engagement", sa.Boolean(), nullable=False),
        sa.Column("level", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("status_reason", sa.String(length=200), nullable=True),
        sa.Column("linkedin_profile_id", sa.String(length=64), nullable=True),
        sa.Column("first_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("uid", name=op.f("uq_identities_uid")),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_url", sa.String(length=512), nullable=False),
        sa.Column("linkedin_profile_id", sa.String(length=64), nullable=True),
        sa.Column("sales_navigator_id", sa.String(length=128), nullable=True),
        sa.Column("full_name", sa.String(length=300), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("company_name", sa.String(length=300), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("timezone_source", sa.String(length=24), nullable=False),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("forgotten_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("profile_url", name=op.f("uq_leads_profile_url")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leads_forgotten_hash"), ["forgotten_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_leads_linkedin_profile_id"), ["linkedin_profile_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_leads_sales_navigator_id"), ["sales_navigator_id"], unique=False
        )

    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_inbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_webhook_inbox_dedupe_key")),
    )
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_inbox_pending", ["processed_at", "id"], unique=False)

    op.create_table(
        "campaign_identities",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_identities_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_campaign_identities_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "identity_id", name=op.f("pk_campaign_identities")),
    )
    with op.batch_alter_table("campaign_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_identities_identity_id"), ["identity_id"], unique=False
        )

    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("linkedin_profile_id", sa.String(length=64), nullable=False),
        sa.Column("profile_url", sa.String(length=512), nullable=True),
        sa.Column("full_name", sa.String(length=300), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_connections_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint(
            "identity_id",
            "linkedin_profile_id",
            name=op.f("uq_connections_identity_id_linkedin_profile_id"),
        ),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connections_profile_url"), ["profile_url"], unique=False
        )

    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.String(length=200), nullable=False),
        sa.Column("thread_url", sa.String(length=512), nullable=True),
        sa.Column("participant_profile_id", sa.String(length=64), nullable=True),
        sa.Column("participant_profile_url", sa.String(length=512), nullable=True),
        sa.Column("last_message_sender_id", sa.String(length=64), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_text", sa.Text(), nullable=True),
        sa.Column("unread", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_conversations_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "identity_id", "thread_id", name=op.f("uq_conversations_identity_id_thread_id")
        ),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_participant", ["identity_id", "participant_profile_id"], unique=False
        )

    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("current_step_id", sa.String(length=64), nullable=True),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("paused_from_state", sa.String(length=24), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_enrollments_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"], ["identities.id"], name=op.f("fk_enrollments_identity_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_enrollments_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "campaign_id", "lead_id", name=op.f("uq_enrollments_campaign_id_lead_id")
        ),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrollments_due", ["identity_id", "state", "next_action_at"], unique=False
        )
        batch_op.create_index("ix_enrollments_lead_state", ["lead_id", "state"], unique=False)

    op.create_table(
        "sent_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.String(length=64), nullable=True),
        sa.Column("invitation_urn", sa.String(length=200), nullable=False),
        sa.Column("linkedin_profile_id", sa.String(length=64), nullable=True),
        sa.Column("profile_url", sa.String(length=512), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_sent_invitations_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_invitations")),
        sa.UniqueConstraint(
            "identity_id",
            "invitation_urn",
            name=op.f("uq_sent_invitations_identity_id_invitation_urn"),
        ),
    )
    with op.batch_alter_table("sent_invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sent_invitations_profile", ["identity_id", "linkedin_profile_id"], unique=False
        )

    op.create_table(
        "sync_state",
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_sync_state_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", "kind", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "worker_leases",
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_worker_leases_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_worker_leases")),
    )
    with op.batch_alter_table("worker_leases", schema=None) as batch_op:
        batch_op.create_index("ix_worker_leases_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_audit_events_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_audit_events_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_enrollment", ["enrollment_id", "at"], unique=False)
        batch_op.create_index("ix_audit_events_lead", ["lead_id", "at"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sender_profile_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "conversation_id", "message_id", name=op.f("uq_messages_conversation_id_message_id")
        ),
    )
    op.create_table(
        "outbox_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("error_label", sa.String(length=64), nullable=True),
        sa.Column("run_uid", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_outbox_actions_enrollment_id_enrollments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_outbox_actions_identity_id_identities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_actions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_actions_idempotency_key")),
    )
    with op.batch_alter_table("outbox_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_actions_enrollment_id"), ["enrollment_id"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_actions_quota", ["identity_id", "kind", "sent_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_actions_run_uid"), ["run_uid"], unique=False)
        batch_op.create_index("ix_outbox_actions_status", ["status", "identity_id"], unique=False)

    op.create_table(
        "outgoing_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_outgoing_events_enrollment_id_enrollments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_outgoing_events_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_events")),
    )
    with op.batch_alter_table("outgoing_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outgoing_events_kind"), ["kind"], unique=False)


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("outgoing_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outgoing_events_kind"))

    op.drop_table("outgoing_events")
    with op.batch_alter_table("outbox_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_actions_status")
        batch_op.drop_index(batch_op.f("ix_outbox_actions_run_uid"))
        batch_op.drop_index("ix_outbox_actions_quota")
        batch_op.drop_index(batch_op.f("ix_outbox_actions_enrollment_id"))

    op.drop_table("outbox_actions")
    op.drop_table("messages")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_lead")
        batch_op.drop_index("ix_audit_events_enrollment")

    op.drop_table("audit_events")
    with op.batch_alter_table("worker_leases", schema=None) as batch_op:
        batch_op.drop_index("ix_worker_leases_expires_at")

    op.drop_table("worker_leases")
    op.drop_table("sync_state")
    with op.batch_alter_table("sent_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_sent_invitations_profile")

    op.drop_table("sent_invitations")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollments_lead_state")
        batch_op.drop_index("ix_enrollments_due")

    op.drop_table("enrollments")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_participant")

    op.drop_table("conversations")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connections_profile_url"))

    op.drop_table("connections")
    with op.batch_alter_table("campaign_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_identities_identity_id"))

    op.drop_table("campaign_identities")
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_inbox_pending")

    op.drop_table("webhook_inbox")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_sales_navigator_id"))
        batch_op.drop_index(batch_op.f("ix_leads_linkedin_profile_id"))
        batch_op.drop_index(batch_op.f("ix_leads_forgotten_hash"))

    op.drop_table("leads")
    op.drop_table("identities")
    op.drop_table("do_not_contact")
    op.drop_table("campaigns")
