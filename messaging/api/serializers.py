"""The messages API's shapes: every field declared, so that the OpenAPI schema says what each call returns."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.actions import BODY_LIMIT, SUBJECT_LIMIT
from messaging.files import AttachmentRejectedError, CheckedFile, check_attachments
from messaging.models import PATIENT_TOPICS, Attachment, MessageKind, Thread, ThreadStatus, Topic

# Named enums in the OpenAPI schema.
TOPIC_CHOICES = list(Topic.values)
NEW_TOPIC_CHOICES = [value for value, _label in PATIENT_TOPICS]
THREAD_STATUS_CHOICES = list(ThreadStatus.values)
MESSAGE_KIND_CHOICES = [MessageKind.MESSAGE.value, MessageKind.EVENT.value]


class CareTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ThreadSerializer(serializers.Serializer):
    """One conversation with a care team, as listed."""

    id = serializers.IntegerField()
    subject = serializers.CharField()
    organization = serializers.CharField(source="organization.name")
    care_team = CareTeamSerializer(source="pool")
    topic = serializers.ChoiceField(choices=TOPIC_CHOICES)
    topic_label = serializers.CharField(source="get_topic_display")
    status = serializers.ChoiceField(choices=THREAD_STATUS_CHOICES)
    status_label = serializers.CharField(source="get_status_display")
    private = serializers.BooleanField(help_text=_("Only the patient sees it: never anyone who helps them."))
    unread = serializers.BooleanField(help_text=_("The care team wrote since the caller last read it."))
    reply_due_at = serializers.SerializerMethodField(
        help_text=_("While waiting for the care team: when a reply is due (the organization's turnaround).")
    )
    created_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_reply_due_at(self, thread: Thread) -> str | None:
        if thread.status != ThreadStatus.WAITING_ON_STAFF or thread.reply_due_at is None:
            return None
        return serializers.DateTimeField().to_representation(thread.reply_due_at)


class CareTeamChoiceSerializer(serializers.Serializer):
    """A care team the patient may write to: at an organization where they are enrolled."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    organization = serializers.CharField(source="organization.name")


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text=_("Where to download the file (recorded in the access history)."))

    def get_url(self, attachment: Attachment) -> str:
        thread: Thread = self.context["thread"]
        return reverse(
            "api-messages-attachment",
            kwargs={"patient_id": thread.patient_id, "thread_id": thread.pk, "attachment_id": attachment.pk},
        )


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=MESSAGE_KIND_CHOICES, help_text=_('"message", or "event": what happened (closed, taken on).')
    )
    from_care_team = serializers.BooleanField(source="from_staff")
    author_name = serializers.CharField()
    on_behalf_of_name = serializers.CharField(
        help_text=_("When a caregiver wrote: the patient's name (sent by the author on their behalf); else empty.")
    )
    body = serializers.CharField(help_text=_("Plain text."))
    created_at = serializers.DateTimeField()
    attachments = AttachmentSerializer(many=True, source="attachments.all")


class ResultLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("The result's id in the record (results/{id}/)."))
    name = serializers.CharField(source="display")


class ThreadDetailSerializer(ThreadSerializer):
    """A conversation with its history (never the care team's internal notes)."""

    result = serializers.SerializerMethodField(
        help_text=_("The test result asked about, when the caller may read it; null otherwise.")
    )
    messages = serializers.SerializerMethodField()

    @extend_schema_field(ResultLinkSerializer(allow_null=True))
    def get_result(self, thread: Thread) -> Any:
        result = self.context.get("result")
        return ResultLinkSerializer(result).data if result is not None else None

    @extend_schema_field(MessageSerializer(many=True))
    def get_messages(self, thread: Thread) -> Any:
        return MessageSerializer(self.context["history"], many=True, context={"thread": thread}).data


class FilesField(serializers.ListField):
    child = serializers.FileField()

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("write_only", True)
        kwargs.setdefault(
            "help_text",
            _("Multipart only: up to 5 files, PDF, JPEG or PNG (checked by content), 10 MB each."),
        )
        super().__init__(**kwargs)


class _Write(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_LIMIT, help_text=_("Plain text."))
    files = FilesField()
    idempotency_key = serializers.UUIDField(
        required=False,
        help_text=_(
            "Sent again with the same key (or the Idempotency-Key header), the message is stored once: "
            "the call answers with what was stored the first time."
        ),
    )

    def validate_files(self, files: list[UploadedFile]) -> list[CheckedFile]:
        try:
            return check_attachments(files)
        except AttachmentRejectedError as error:
            raise serializers.ValidationError(str(error)) from error


class NewThreadSerializer(_Write):
    care_team = serializers.IntegerField(
        help_text=_("A care team the patient may write to (messages/care-teams/)."),
    )
    topic = serializers.ChoiceField(choices=NEW_TOPIC_CHOICES)
    subject = serializers.CharField(max_length=SUBJECT_LIMIT)
    private = serializers.BooleanField(
        required=False, default=False, help_text=_("Only the patient, acting for themselves, may write privately.")
    )
    result = serializers.IntegerField(
        required=False,
        help_text=_(
            "A test result in the record to ask about: the care team must be of the organization it came from."
        ),
    )


class ReplySerializer(_Write):
    pass
