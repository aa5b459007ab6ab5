"""App config for the books."""

from django.apps import AppConfig


class BooksConfig(AppConfig):
    name = "casebridge.books"
    label = "books"
    verbose_name = "Books (legal accounting)"

    def ready(self) -> None:
        # binds the export jobs' enqueuer (``jobs.set_enqueuer``) in every process, the web
        # one included: without it a job queued from a screen or the API is never run
        from casebridge.books import tasks  # noqa: F401
