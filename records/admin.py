from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from records.models import Connection, HealthSystem, ImportRun


@admin.register(HealthSystem)
class HealthSystemAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "state", "vendor", "has_client_id", "organization", "is_sandbox")
    list_filter = ("is_sandbox", "vendor")
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
    fields = ("health_system", "status", "status_detail", "connected_at", "last_synced_at")
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
