"""API.md's example responses and the decisions doc's payloads parse into typed models."""

from __future__ import annotations

from datetime import UTC, datetime

from linkseq.edges import (
    AuthExpired,
    CallbackPayload,
    Conversation,
    Identity,
    InmailResult,
    Integration,
    IntegrationEvent,
    Me,
    MessageResult,
    Run,
    RunStatus,
    SearchPerson,
    ThreadMessage,
)


def test_message_profile_example() -> None:
    result = MessageResult.parse(
        {
            "message": "<string>",
            "sales_navigator_profile_id": "<string>",
            "linkedin_thread_id": "<string>",
            "linkedin_thread_url": "<string>",
            "is_sent": True,
            "reply": "<string>",
            "delivered_at": "2023-11-07T05:31:56Z",
            "linkedin_message_id": "<string>",
            "attachments": [
                {
                    "assetUrn": "<string>",
                    "byteSize": 123,
                    "mediaType": "<string>",
                    "name": "<string>",
                }
            ],
        }
    )
    assert result.delivered_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert result.attachments[0].byteSize == 123


def test_inmail_example() -> None:
    result = InmailResult.parse({"is_sent": True, "linkedin_people_post_search_url": "x", "new": 1})
    assert result.model_extra == {"new": 1}


def test_extract_conversations_example() -> None:
    row = {
        "participants": [
            {
                "linkedin_profile_id": 123,
                "sales_navigator_profile_id": "",
                "linkedin_profile_url": "",
                "first_name": "",
                "last_name": "",
                "job_title": "",
                "linkedin_people_post_search_url": "",
            }
        ],
        "linkedin_thread_id": "",
        "linkedin_thread_url": "",
        "read": True,
        "total_received_messages": "<string>",
        "created_at": "2023-11-07T05:31:56Z",
        "last_activity_at": "2023-11-07T05:31:56Z",
        "last_message": {
            "delivered_at": "",
            "first_name": "",
            "last_name": "",
            "linkedin_profile_id": 123,
            "sales_navigator_profile_id": "",
            "job_title": "",
            "message_id": "",
            "content": "",
            "attachments": [{"type": "", "errorMessage": ""}],
        },
        "unread_count": 123,
        "sponsored": True,
    }
    conv = Conversation.parse(row)
    assert conv.participants[0].linkedin_profile_id == 123
    assert conv.total_received_messages is None  # "<string>" is not a number; tolerated
    assert conv.linkedin_thread_id is None  # blank reads as missing
    assert conv.last_message is not None
    assert conv.last_message.linkedin_profile_id == 123
    assert Conversation.parse({"total_received_messages": "12"}).total_received_messages == 12


def test_extract_messages_and_search_rows() -> None:
    msg = ThreadMessage.parse({"position": "3", "linkedin_profile_id": "99", "content": "hi"})
    assert (msg.position, msg.linkedin_profile_id) == (3, 99)
    person = SearchPerson.parse(
        {
            "linkedin_profile_id": 5,
            "connection_degree": "2nd",
            "shared_connection_profile_urls": None,
        }
    )
    assert person.shared_connection_profile_urls == []


def test_me_example() -> None:
    me = Me.parse({"id": 42, "first_name": "A", "premium_subscriber": "false", "twitter": "@a"})
    assert me.linkedin_profile_id == 42
    assert me.premium_subscriber is False
    assert me.model_extra == {"twitter": "@a"}


def test_async_response_example_and_run_objects() -> None:
    run = Run.parse(
        {
            "run_id": 123,
            "run_uid": "<string>",
            "workspace_uid": "<string>",
            "user_uid": "<string>",
            "action_name": "<string>",
            "status": "pending",
            "postponed_until": "2023-11-07T05:31:56Z",
            "created_at": "...",
            "synced_at": "...",
            "updated_at": "...",
        }
    )
    assert run.uid == "<string>"
    assert run.status == "PENDING"
    assert run.created_at is None  # "..." is not a date; tolerated
    got = Run.parse(
        {
            "id": 1,
            "uid": "u",
            "status": "BLOCKED",
            "output_count": 3,
            "last_error": {
                "label": "LIMIT_REACHED",
                "message": "m",
                "params": {"postponed_until": "2026-01-06T00:00:00Z", "appendix": "24h"},
            },
        }
    )
    assert got.run_uid == "u"
    assert got.output_count == 3
    assert got.last_error is not None
    assert got.last_error.postponed_until == datetime(2026, 1, 6, tzinfo=UTC)
    assert got.last_error.to_exception().label == "LIMIT_REACHED"
    assert RunStatus.parse({"uid": "x", "status": "succeeded"}).status == "SUCCEEDED"


def test_identity_examples() -> None:
    created = Identity.parse(
        {
            "uid": "123e4567",
            "created_at": "2023-10-01T12:00:00Z",
            "workspace_uid": "w",
            "name": "John Doe",
            "type": "standard",
            "timezone": "Europe/Paris",
            "integrations": [],
            "identity_login_links": {
                "linkedin": "https://app.edges.run/identities/linkedin/login?token=XXXXXX"
            },
        }
    )
    assert created.is_engagement is False
    got = Identity.parse({"uid": "u", "is_active": "true", "integrations": ["linkedin"]})
    assert got.is_active is True
    assert got.linkedin is None
    listed = Identity.parse(
        {"uid": "u", "integrations": [{"integration_permalink": "linkedin", "status": "VALID"}]}
    )
    assert listed.linkedin is not None
    assert listed.linkedin.is_valid


def test_integration_example() -> None:
    integ = Integration.parse(
        {
            "auth_type": "COOKIES",
            "setup_source": "API",
            "auth_method": "BASIC",
            "is_shared": False,
            "name": "...",
            "uid": "...",
            "integration_permalink": "linkedin",
            "created_at": "...",
            "level": "Classic",
            "identity_uid": "...",
            "meta": {"key": "value"},
            "status": "VALID",
        }
    )
    assert integ.is_valid
    assert not integ.sales_navigator
    assert Integration.parse({"checkpoint": "PHONE_REGISTER"}).checkpoint is not None


def test_callback_payload_nested_custom_data() -> None:
    payload = CallbackPayload.parse(
        {
            "callback_ref_uid": "cb_1",
            "run": {"run_uid": "r", "batch_uid": "b", "status": "RUNNING"},
            "action_name": "linkedin-visit-profile",
            "custom_data": {"enrollment_id": "42"},
            "input": {"linkedin_profile_url": "https://www.linkedin.com/in/x"},
            "results": [{"linkedin_profile_id": 1}],
            "error": None,
        }
    )
    assert payload.custom_data == {"enrollment_id": "42"}
    assert not payload.is_final
    assert payload.exception() is None


def test_callback_payload_custom_data_merged_at_root_and_error() -> None:
    payload = CallbackPayload.parse(
        {
            "callback_ref_uid": "cb_2",
            "run": {"run_uid": "r", "status": "partial_succeeded"},
            "enrollment_id": "42",
            "error": {"error_label": "AUTH_EXPIRED", "error_scope": "auth", "status_code": 424},
        }
    )
    assert payload.custom_data == {"enrollment_id": "42"}
    assert payload.is_final
    assert payload.run.status == "PARTIAL_SUCCEEDED"
    assert isinstance(payload.exception(), AuthExpired)
    final = CallbackPayload.parse(
        {"callback_ref_uid": "c", "run": {"run_uid": "r", "status": "SUCCEEDED"}, "results": None}
    )
    assert final.results == []
    assert final.custom_data == {}


def test_integration_event_documented_shape() -> None:
    event = IntegrationEvent.parse(
        {
            "event": "AUTH_EXPIRED",
            "action_to_be_taken": "RETRY_LOGIN",
            "event_uid": "evt_1",
            "occurred_at": "2026-01-05T08:00:00Z",
            "identity_uid": "u1",
            "integration": {"uid": "i", "status": "INVALID", "identity_uid": "u1"},
        }
    )
    assert event.needs_login
    assert event.event_uid == "evt_1"
    assert event.integration is not None
    assert event.integration.status == "INVALID"


def test_integration_event_flat_shape_and_hash_key() -> None:
    body = {"event": "auth_success", "uid": "i", "identity_uid": "u2", "status": "VALID"}
    event = IntegrationEvent.parse(body)
    assert event.event == "AUTH_SUCCESS"
    assert not event.needs_login
    assert event.identity_uid == "u2"
    assert event.integration is not None
    assert event.integration.status == "VALID"
    assert event.event_uid is not None
    assert event.event_uid.startswith("sha256:")
    assert IntegrationEvent.parse(dict(body)).event_uid == event.event_uid
    assert IntegrationEvent.parse({**body, "status": "X"}).event_uid != event.event_uid
    assert IntegrationEvent.parse({"event": "DELETED", "identity_uid": "u"}).needs_login
