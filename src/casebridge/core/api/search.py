"""``GET /search?q=`` on both APIs: the global search's groups, as the screens show them
(:mod:`casebridge.core.search`)."""

from __future__ import annotations

from pydantic import Field

from casebridge.core.api.schemas import Clean, Out
from casebridge.core.search import Results


class SearchIn(Clean):
    q: str = Field(
        max_length=200,
        description='Words to find, each as the start of a word ("lop" finds "Lopez"); '
        "at most 10 results of each kind.",
    )


class SearchHitOut(Out):
    label: str
    detail: str
    url: str = Field(description="The screen that shows it.")


class SearchGroupOut(Out):
    kind: str
    title: str
    hits: list[SearchHitOut]


class SearchOut(Out):
    query: str
    groups: list[SearchGroupOut]

    @classmethod
    def of(cls, results: Results) -> SearchOut:
        return cls(
            query=results.query,
            groups=[
                SearchGroupOut(
                    kind=g.kind,
                    title=g.title,
                    hits=[SearchHitOut(label=h.label, detail=h.detail, url=h.url) for h in g.hits],
                )
                for g in results.groups
            ],
        )
