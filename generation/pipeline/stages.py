"""Running one unit, top to bottom: claim it under a lease, run its stage while a heartbeat keeps the lease, then
hand the outcome to the lifecycle, which alone writes states and moves the task on."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from generation.costs import calls
from generation.costs.budgets import BudgetReachedError
from generation.integrations.backends import FatalBackendError, RefusedError, RejectedInputError
from generation.integrations.provenance import CredentialsError
from generation.models import GenerationTask, PipelineUnit
from generation.pipeline import lifecycle
from generation.pipeline.images import run_images
from generation.pipeline.lifecycle import Lease, LeaseLost, log_unit
from generation.pipeline.personas import run_batch
from generation.pipeline.redo import run_new_bios, run_new_image, run_new_photos

State = PipelineUnit.State
Kind = PipelineUnit.Kind


def run_unit(unit_pk: int) -> None:
    """Run one unit to an outcome: done, handed back for another try, or failed for good. A job delivered twice or
    late finds the unit taken or ended and does nothing."""
    unit = lifecycle.claim(unit_pk)
    if unit is None:
        lifecycle.log.info("unit %s: already taken or ended, nothing to do", unit_pk)
        return
    if not lifecycle.may_run(unit):
        return
    log_unit(unit, "started")
    with Lease(unit) as lease, calls.on_behalf_of(unit):
        try:
            photos = None
            if unit.kind == Kind.BATCH:
                note = run_batch(unit, lease)
            elif unit.kind == Kind.BIOS:
                note = run_new_bios(unit, lease)
            else:
                photos = {
                    Kind.PERSONA_IMAGES: run_images,
                    Kind.ALL_PHOTOS_AGAIN: run_new_photos,
                    Kind.ONE_PHOTO_AGAIN: run_new_image,
                }[unit.kind](unit, lease)
                note = photos.note
        except LeaseLost:
            log_unit(unit, "stopped: another worker holds the unit now; nothing written", level=logging.WARNING)
        except BudgetReachedError as error:
            log_unit(unit, "stopped: %s", error, level=logging.WARNING)
            lifecycle.stop_for_budget(unit, str(error))
        except FatalBackendError as error:
            log_unit(unit, "fatal: %s", error, level=logging.ERROR)
            lifecycle.stop_for_fatal(unit, str(error))
        except CredentialsError as error:  # every image of every unit would fail the same way
            log_unit(unit, "fatal: images cannot be signed: %s", error, level=logging.ERROR)
            lifecycle.stop_for_fatal(unit, f"Images cannot be signed: {error}")
        except (RefusedError, RejectedInputError) as error:
            log_unit(unit, "rejected: %s", error, level=logging.WARNING)
            lifecycle.fail_unit(unit, str(error), error_code=error.code)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"[:1000]
            if lifecycle.out_of_tries(unit):
                log_unit(unit, "failed for good: %s", reason, level=logging.ERROR)
                lifecycle.fail_unit(unit, f"failed {unit.attempts} times; last: {reason}")
            else:
                log_unit(unit, "failed, will try again: %s", reason, level=logging.WARNING)
                time.sleep(min(settings.UNIT_RETRY_DELAY * unit.attempts, 30))
                lifecycle.retry_unit_later(unit, reason)
        else:
            lifecycle.complete_unit(
                unit, note, images=photos.images if photos else None, base_url=photos.base_url if photos else None
            )


def run_inline(task: GenerationTask) -> None:
    """Run the whole pipeline in this process, with no worker (manage.py generate --sync)."""
    token = lifecycle.inline.set(True)
    try:
        lifecycle.start(task.pk)
        while True:
            waiting = list(
                task.units.filter(state__in=[State.PENDING, State.QUEUED]).order_by("id").values_list("id", flat=True)
            )
            if not waiting:
                break
            for unit_pk in waiting:
                run_unit(unit_pk)
    finally:
        lifecycle.inline.reset(token)
