from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Bills and payments")

    def ready(self) -> None:
        from billing import attention, scoping  # noqa: F401  (family cards; staff read rules)
