"""The staff side's API shapes: inbox rows, a thread with its whole history and the patient beside it, writes."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.actions import BODY_LIMIT
from messaging.forms_staff import FILTER_LABELS
from messaging.selectors import SEARCH_LIMIT, PatientPanel


class InboxQuerySerializer(serializers.Serializer):
    view = serializers.ChoiceField(
        choices=list(FILTER_LABELS), required=False, help_text="Which threads: open (default), unassigned, ..."
    )
    pool = serializers.IntegerField(required=False, help_text="One care team of the organization (default: all).")
    q = serializers.CharField(
        required=False, max_length=SEARCH_LIMIT, help_text="Patient name, MRN at this organization, or subject."
    )


class StaffThreadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    topic = serializers.CharField()
    status = serializers.CharField()
    private = serializers.BooleanField()
    pool_id = serializers.IntegerField()
    pool_name = serializers.CharField(source="pool.name")
    patient_name = serializers.CharField(source="patient.display_name")
    mrn = serializers.SerializerMethodField()
    assigned_to_id = serializers.IntegerField(allow_null=True)
    assigned_to_name = serializers.SerializerMethodField()
    reply_due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.SerializerMethodField()
    unread = serializers.SerializerMethodField()
    last_message_at = serializers.DateTimeField()

    def get_mrn(self, thread: Any) -> str:
        return str(getattr(thread, "mrn", None) or self.context.get("mrn") or "")

    def get_assigned_to_name(self, thread: Any) -> str | None:
        person = thread.assigned_to
        return (person.full_name or person.email) if person is not None else None

    def get_overdue(self, thread: Any) -> bool:
        return bool(thread.is_overdue(self.context.get("now") or timezone.now()))

    def get_unread(self, thread: Any) -> bool:
        return bool(getattr(thread, "unread", False))


class StaffAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="The file, through the staff page that serves it.")

    def get_url(self, attachment: Any) -> str:
        return reverse(
            "messaging:staff_attachment",
            kwargs={
                "org_slug": self.context["org_slug"],
                "thread_id": attachment.message.thread_id,
                "attachment_id": attachment.pk,
            },
        )


class StaffMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="message, note (internal: the patient's side never sees it) or event")
    from_staff = serializers.BooleanField()
    author_name = serializers.CharField()
    on_behalf_of_name = serializers.CharField(help_text="Sent by author_name on behalf of this patient (or empty).")
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    attachments = StaffAttachmentSerializer(many=True, source="attachments.all")


class OrganizationRecordSerializer(serializers.Serializer):
    display = serializers.CharField()
    value_number = serializers.FloatField(allow_null=True)
    value_text = serializers.CharField()
    unit = serializers.CharField()
    status = serializers.CharField()
    effective_at = serializers.DateTimeField(allow_null=True)


class PatientPanelSerializer(serializers.Serializer):
    name = serializers.CharField(source="patient.display_name")
    birth_date = serializers.DateField(source="patient.birth_date")
    mrn = serializers.CharField()
    appointments = OrganizationRecordSerializer(many=True, help_text="Upcoming, from this organization's records only.")
    results = OrganizationRecordSerializer(many=True, help_text="Recent, from this organization's records only.")
    sensitive_shown = serializers.BooleanField()


class StaffThreadDetailSerializer(StaffThreadSerializer):
    result = serializers.SerializerMethodField(help_text="The result the patient asked about, if any.")
    messages = serializers.SerializerMethodField()
    patient_panel = serializers.SerializerMethodField()

    @extend_schema_field(OrganizationRecordSerializer(allow_null=True))
    def get_result(self, thread: Any) -> dict[str, Any] | None:
        return OrganizationRecordSerializer(thread.result).data if thread.result is not None else None

    @extend_schema_field(StaffMessageSerializer(many=True))
    def get_messages(self, thread: Any) -> list[dict[str, Any]]:
        return list(StaffMessageSerializer(self.context["history"], many=True, context=self.context).data)

    @extend_schema_field(PatientPanelSerializer)
    def get_patient_panel(self, thread: Any) -> dict[str, Any]:
        panel: PatientPanel = self.context["panel"]
        return dict(PatientPanelSerializer(panel).data)


class StaffReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_LIMIT)
    close = serializers.BooleanField(default=False, help_text="Close the thread with this reply.")


class StaffNoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_LIMIT)


class StaffAssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(
        allow_null=True, help_text="A colleague's user id (one of the organization's inbox staff), or null: the pool."
    )
