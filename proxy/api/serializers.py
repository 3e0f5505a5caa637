from __future__ import annotations

from datetime import date

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.actors import Scope
from accounts.models import Organization
from proxy.documents import CheckedDocument, DocumentRejectedError, check_document
from proxy.forms import LEGAL_BASIS_CHOICES_FOR_REQUESTS, MAX_DOCUMENTS
from proxy.models import ProxyGrant

# One named enum in the OpenAPI schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
SCOPE_CHOICES = sorted(Scope.ALL)


class SubjectSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    basis = serializers.CharField(help_text=_("On what basis the caller acts for this person."))
    scopes = serializers.ListField(child=serializers.CharField())
    is_self = serializers.BooleanField()
    limited_for_adolescent = serializers.BooleanField(
        help_text=_("A parent of an adolescent: sensitive and confidential items are hidden.")
    )
    grant_id = serializers.UUIDField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class MembershipSerializer(serializers.Serializer):
    organization = serializers.CharField()
    organization_slug = serializers.SlugField()
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField()
    mfa_enabled = serializers.BooleanField()
    acting_for = SubjectSerializer(allow_null=True, help_text=_("Whose record calls act on now."))
    may_act_for = SubjectSerializer(many=True)
    memberships = MembershipSerializer(many=True)


class GrantSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    patient_id = serializers.UUIDField(read_only=True)
    patient_name = serializers.CharField(source="patient.display_name", read_only=True)
    grantee_name = serializers.SerializerMethodField()
    invited_email = serializers.SerializerMethodField()
    legal_basis = serializers.CharField(read_only=True)
    relationship = serializers.CharField(read_only=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES))
    allows_sensitive = serializers.BooleanField(read_only=True)
    status = serializers.CharField(read_only=True)
    status_reason = serializers.CharField(read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(allow_null=True, required=False)

    def get_grantee_name(self, grant: ProxyGrant) -> str | None:
        return (grant.grantee.full_name or grant.grantee.email) if grant.grantee else None

    def get_invited_email(self, grant: ProxyGrant) -> str | None:
        invitation = getattr(grant, "invitation", None)
        return invitation.email if invitation is not None else None


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    relationship = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES), min_length=1)
    expires_at = serializers.DateTimeField(allow_null=True, required=False, default=None)
    allows_sensitive = serializers.BooleanField(required=False, default=False)


class GrantChangeSerializer(serializers.Serializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES), min_length=1)
    expires_at = serializers.DateTimeField(allow_null=True, required=False, default=None)
    allows_sensitive = serializers.BooleanField(required=False)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class AccessRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    patient_given_name = serializers.CharField(max_length=100)
    patient_family_name = serializers.CharField(max_length=100)
    patient_birth_date = serializers.DateField()
    relationship = serializers.CharField(max_length=100)
    legal_basis = serializers.ChoiceField(choices=LEGAL_BASIS_CHOICES_FOR_REQUESTS)
    organization = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organization.objects.all(), allow_null=True, required=False
    )
    requested_scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES), min_length=1)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    documents = serializers.ListField(
        child=serializers.FileField(), write_only=True, min_length=1, max_length=MAX_DOCUMENTS
    )
    status = serializers.CharField(read_only=True)
    decision_reason = serializers.CharField(read_only=True)
    requester_email = serializers.EmailField(source="requester.email", read_only=True)
    document_count = serializers.IntegerField(source="documents.count", read_only=True)

    def validate_documents(self, files: list[UploadedFile]) -> list[CheckedDocument]:
        try:
            return [check_document(upload) for upload in files]
        except DocumentRejectedError as error:
            raise serializers.ValidationError(str(error)) from error

    def validate_patient_birth_date(self, value: date) -> date:
        if value > timezone.localdate():
            raise serializers.ValidationError(_("The date of birth cannot be in the future."))
        return value


class ApproveSerializer(serializers.Serializer):
    patient = serializers.CharField(
        max_length=64,
        help_text=_('The id of a record the desk cares for, or "new" to create the record (with its MRN).'),
    )
    mrn = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES), min_length=1)
    allows_sensitive = serializers.BooleanField(required=False, default=False)
    expires_at = serializers.DateTimeField(allow_null=True, required=False, default=None)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
