"""The Django admin, an operator's tool: `base` holds what every list shares (thumbnails, badges, estimated
counts, acting on each selected row); each other module registers the admins of one group of models."""

from generation.admin import costs, faces, provenance, results, tasks

__all__ = ["costs", "faces", "provenance", "results", "tasks"]
