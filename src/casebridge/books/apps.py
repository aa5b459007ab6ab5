"""App config for the books."""

from django.apps import AppConfig


class BooksConfig(AppConfig):
    name = "casebridge.books"
    label = "books"
    verbose_name = "Books (legal accounting)"
