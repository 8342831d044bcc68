import logging
import sys

from django.apps import AppConfig

log = logging.getLogger("generation.pipeline")


class GenerationConfig(AppConfig):
    default_auto_field = "django.db.models.AutoField"
    name = "generation"
    verbose_name = "Generation"

    def ready(self) -> None:
        if sys.argv[1:2] == ["qcluster"]:
            prepare_for_workers()


def prepare_for_workers() -> None:
    """Before a worker cluster forks its workers (and a new one each time a worker is recycled): import the
    pipeline and make the API and storage clients once, here. No connection is opened, so each worker still
    opens its own; but none spends the ~1.3 s of CPU those imports and clients cost (boto3 reads its service
    models, the openai package is large) before its first unit, and the workers share those pages."""
    try:
        import generation.jobs  # noqa: F401
        from generation import storage
        from generation.backends import get_backend

        get_backend()
        storage.make_clients()
    except Exception:  # a unit will report the problem where the operator sees it; the cluster still starts
        log.warning("could not prepare the API and storage clients before forking the workers", exc_info=True)
