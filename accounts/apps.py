from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = _("Accounts and organizations")

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (connects audit receivers)


class PortalAdminConfig(admin_apps.AdminConfig):
    """The Django admin, behind two-step verification."""

    default = False
    default_site = "accounts.admin_site.PortalAdminSite"
