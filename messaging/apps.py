from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messages and refills")

    def ready(self) -> None:
        from messaging import attention, scoping  # noqa: F401  (the family view's messages card; staff read rules)
