from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = _("Health records")

    def ready(self) -> None:
        from records import attention  # noqa: F401  (registers the family view's records cards)
