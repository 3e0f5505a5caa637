from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal shell")

    def ready(self) -> None:
        # The shell joins apps that do not read each other: a booking offers the journal's open questions.
        from accounts.actors import Actor
        from records.patient_data import open_questions
        from scheduling.journal import QUESTION_READERS, SUGGESTED_QUESTIONS

        def open_question_texts(actor: Actor) -> list[str]:
            return [entry.text for entry in open_questions(actor, limit=SUGGESTED_QUESTIONS)]

        if not QUESTION_READERS:
            QUESTION_READERS.append(open_question_texts)
