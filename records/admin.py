from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from records.models import ClientKind, Connection, HealthSystem, ImportRun
from records.safe_urls import UnsafeURLError, check_health_system_url


class HealthSystemForm(forms.ModelForm):
    """The FHIR base URL must pass the address rule; the client secret is write-only (blank keeps the old one)."""

    fhir_base_url = forms.URLField(label=_("FHIR base URL"), max_length=500, assume_scheme="https")
    client_secret = forms.CharField(
        label=_("client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Only for a confidential client with a client secret. Leave empty to keep the one saved."),
    )

    class Meta:
        model = HealthSystem
        fields = (
            "name",
            "city",
            "state",
            "postal_code",
            "vendor",
            "fhir_base_url",
            "client_id",
            "client_kind",
            "client_secret",
            "organization",
            "is_sandbox",
        )

    def clean_fhir_base_url(self) -> str:
        url = str(self.cleaned_data["fhir_base_url"]).rstrip("/")
        try:
            check_health_system_url(url)
        except UnsafeURLError as error:
            raise forms.ValidationError(str(error)) from error
        return url

    def clean_client_secret(self) -> str:
        return self.cleaned_data["client_secret"] or (self.instance.client_secret if self.instance.pk else "") or ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("client_kind")
        if kind == ClientKind.SECRET and not cleaned.get("client_secret"):
            self.add_error("client_secret", _("A confidential client with a client secret needs the secret."))
        if kind == ClientKind.PRIVATE_KEY_JWT and not settings.SMART_CLIENT_PRIVATE_KEY:
            self.add_error(
                "client_kind",
                _("private_key_jwt needs the portal's signing key (SMART_CLIENT_PRIVATE_KEY); none is set."),
            )
        return cleaned


@admin.register(HealthSystem)
class HealthSystemAdmin(admin.ModelAdmin):
    form = HealthSystemForm
    list_display = ("name", "city", "state", "vendor", "has_client_id", "client_kind", "organization", "is_sandbox")
    list_filter = ("is_sandbox", "client_kind", "vendor")
    search_fields = ("name", "city", "fhir_base_url")
    autocomplete_fields = ("organization",)

    @admin.display(boolean=True, description="registered")
    def has_client_id(self, system: HealthSystem) -> bool:
        return bool(system.client_id)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Status only: tokens are never shown, and connections are changed by their owners."""

    list_display = ("health_system", "status", "connected_at", "last_synced_at")
    list_filter = ("status",)
    fields = (
        "health_system",
        "status",
        "status_detail",
        "refusal_error",
        "refusal_description",
        "refusal_uri",
        "revocation_endpoint",
        "connected_at",
        "last_synced_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("source", "kind", "status", "started_at", "new", "changed", "unchanged", "failed")
    list_filter = ("kind", "status")
    readonly_fields = (
        "source",
        "kind",
        "status",
        "started_at",
        "finished_at",
        "new",
        "changed",
        "unchanged",
        "failed",
        "progress_done",
        "progress_total",
        "error",
        "requested_by",
        "basis",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
