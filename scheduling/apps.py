from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = _("Appointments")

    def ready(self) -> None:
        from scheduling import attention, scoping, waitlist  # noqa: F401  (family cards; staff rules; offers)
