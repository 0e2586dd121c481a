from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from registry.http.deps import AnyKey
from registry.taxonomy.categories import CATEGORIES, CONFIDENCE_LEVELS

router = APIRouter(prefix="/v1", tags=["taxonomy"])


class CategoryPublic(BaseModel):
    category: str
    severity: str
    action: str
    description: str


class ConfidencePublic(BaseModel):
    name: str
    value: int
    provenance: str


class Taxonomy(BaseModel):
    categories: list[CategoryPublic]
    confidence_levels: list[ConfidencePublic]


@router.get("/categories", operation_id="list_categories", response_model=Taxonomy)
def list_categories(_key: AnyKey) -> Taxonomy:
    return Taxonomy(
        categories=[
            CategoryPublic(category=c.name, severity=c.severity.value, action=c.action, description=c.description)
            for c in CATEGORIES.values()
        ],
        confidence_levels=[
            ConfidencePublic(name=c.name, value=c.value, provenance=c.provenance) for c in CONFIDENCE_LEVELS
        ],
    )
