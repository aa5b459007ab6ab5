"""Django project configuration for Casebridge: settings, URLs, WSGI and the task engine."""
