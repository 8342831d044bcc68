"""The Django admin, an operator's tool: `base` holds what every list shares (thumbnails, badges, estimated
counts, acting on each selected row); each other module registers the admins of one group of models."""

from generation.admin import costs, provenance
from generation.admin.base import EstimatedCountPaginator
from generation.admin.faces import FaceCheckAdmin
from generation.admin.results import GenerationResultAdmin
from generation.admin.tasks import GenerationTaskAdmin, PipelineUnitAdmin

__all__ = [
    "EstimatedCountPaginator",
    "FaceCheckAdmin",
    "GenerationResultAdmin",
    "GenerationTaskAdmin",
    "PipelineUnitAdmin",
    "costs",
    "provenance",
]
