"""Generation's models, one module per concern; every name is importable from `generation.models`.

- `tasks`: the documented tasks and results, with each run and submission of a task;
- `units`: the pipeline's units of work, and the slots that pace API calls;
- `people`: what a task asked of its people, and what each persona has beyond the profile columns;
- `faces`: what the face model saw in each stored image;
- `ledger`: the record of API calls, budgets and the daily roll-up;
- `credentials`: the Content Credentials of each stored file;
- `exports`: exports built in the background."""

from generation.models.credentials import ImageCredential
from generation.models.exports import ExportBuild, new_build_token
from generation.models.faces import FaceCheck
from generation.models.ledger import ApiCall, DailyUsage, TaskBudget, UserBudget
from generation.models.people import DEFAULT_AGES, OLDEST, YOUNGEST, PersonaDetails, TaskRequest
from generation.models.tasks import TASK_ID_LENGTH, GenerationResult, GenerationTask, TaskRun, TaskSubmission
from generation.models.units import PipelineUnit, RateLimitSlot, default_attempt_limit

__all__ = [
    "DEFAULT_AGES",
    "OLDEST",
    "TASK_ID_LENGTH",
    "YOUNGEST",
    "ApiCall",
    "DailyUsage",
    "ExportBuild",
    "FaceCheck",
    "GenerationResult",
    "GenerationTask",
    "ImageCredential",
    "PersonaDetails",
    "PipelineUnit",
    "RateLimitSlot",
    "TaskBudget",
    "TaskRequest",
    "TaskRun",
    "TaskSubmission",
    "UserBudget",
    "default_attempt_limit",
    "new_build_token",
]
