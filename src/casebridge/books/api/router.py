"""The NinjaAPI instance (placeholder until the endpoints land)."""

from ninja import NinjaAPI

api = NinjaAPI(title="Casebridge Books API", version="1", urls_namespace="books_api")
