"""Generation's models, one module per concern; every name is importable from `generation.models`.

- `tasks`: the documented tasks and results, with each run and submission of a task;
- `units`: the pipeline's units of work, and the slots that pace API calls;
- `faces`: what the face model saw in each stored image;
- `ledger`: the record of API calls, budgets and the daily roll-up;
- `credentials`: the Content Credentials of each stored file;
- `exports`: exports built in the background."""

from generation.models.credentials import ImageCredential
from generation.models.exports import ExportBuild, new_build_token
from generation.models.faces import FaceCheck
from generation.models.ledger import ApiCall, DailyUsage, TaskBudget, UserBudget
from generation.models.tasks import TASK_ID_LENGTH, GenerationResult, GenerationTask, TaskRun, TaskSubmission
from generation.models.units import PipelineUnit, RateLimitSlot, default_attempt_limit

__all__ = [
    "TASK_ID_LENGTH",
    "ApiCall",
    "DailyUsage",
    "ExportBuild",
    "FaceCheck",
    "GenerationResult",
    "GenerationTask",
    "ImageCredential",
    "PipelineUnit",
    "RateLimitSlot",
    "TaskBudget",
    "TaskRun",
    "TaskSubmission",
    "UserBudget",
    "default_attempt_limit",
    "new_build_token",
]
