from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class SubjectSerializer(serializers.Serializer):  # type: ignore[type-arg]
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


class MembershipSerializer(serializers.Serializer):  # type: ignore[type-arg]
    organization = serializers.CharField()
    organization_slug = serializers.SlugField()
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    email = serializers.EmailField()
    full_name = serializers.CharField()
    mfa_enabled = serializers.BooleanField()
    acting_for = SubjectSerializer(allow_null=True, help_text=_("Whose record calls act on now."))
    may_act_for = SubjectSerializer(many=True)
    memberships = MembershipSerializer(many=True)
