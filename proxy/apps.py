from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProxyConfig(AppConfig):
    name = "proxy"
    verbose_name = _("Proxy access")

    def ready(self) -> None:
        from proxy import scoping  # noqa: F401  (registers the staff scoping rules of proxy access)
