"""The API's and the screens' fixtures, for the statements tests kept together here."""

from __future__ import annotations

from tests.books.api.conftest import api, token  # noqa: F401 - fixtures
from tests.books.web.conftest import (  # noqa: F401 - fixtures
    admin_client,
    clerk,
    clerk_client,
    other_admin,
    other_client,
)
