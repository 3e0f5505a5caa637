from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messages and refills")

    def ready(self) -> None:
        import messaging.attention_refills  # noqa: F401  (the family view's refills card)
        from messaging import scoping  # noqa: F401  (the staff side's read rules)
