from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import AuditEvent, Enrollment, Membership, Organization, Patient, TOTPDevice, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "full_name", "is_active", "is_staff", "is_platform_admin", "date_joined")
    list_filter = ("is_active", "is_staff", "is_platform_admin")
    search_fields = ("email", "full_name")
    exclude = ("password", "user_permissions")
    readonly_fields = ("last_login", "date_joined")


class MembershipInline(admin.TabularInline):
    model = Membership
    autocomplete_fields = ("user",)
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "time_zone")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("family_name", "given_name", "birth_date", "user")
    search_fields = ("family_name", "given_name", "user__email")
    autocomplete_fields = ("user",)


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("patient", "organization", "mrn")
    list_filter = ("organization",)
    search_fields = ("mrn", "patient__family_name")
    autocomplete_fields = ("patient",)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "last_used_at")
    fields = ("user", "name", "confirmed")
    readonly_fields = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("id", "occurred_at", "actor_name", "basis", "action", "subject_patient")
    list_filter = ("action", "basis")
    search_fields = ("actor_name", "action")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
