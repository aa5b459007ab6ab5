"""The cases side's NinjaAPI instance."""

from ninja import NinjaAPI

api = NinjaAPI(title="Casebridge Cases API", version="1", urls_namespace="cases:cases_api")
