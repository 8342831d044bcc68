"""A unit's lease: claiming it, renewing it from a heartbeat thread while its worker works, and the fence that
keeps a worker that lost its lease from writing."""

from __future__ import annotations

import logging
import threading

from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone

from generation.models import PipelineUnit
from generation.pipeline.lifecycle.common import LeaseLost, State, heartbeat_interval, lease_length, log_unit

# --- One unit's run: claim, heartbeat, outcome ----------------------------------------------------------------


def claim(unit_pk: int) -> PipelineUnit | None:
    """Take a unit for this worker under a new lease: one that waits, or one whose holder's lease ran out (that
    worker died). Counts the attempt. None when someone else holds it or it has ended: a job delivered twice, or
    late, runs nothing."""
    now = timezone.now()
    claimable = Q(state__in=[State.PENDING, State.QUEUED]) | Q(state=State.RUNNING, lease_until__lt=now)
    taken = PipelineUnit.objects.filter(claimable, pk=unit_pk).update(
        state=State.RUNNING,
        attempts=F("attempts") + 1,
        lease_token=F("lease_token") + 1,
        lease_until=now + lease_length(),
        updated_at=now,
    )
    if not taken:
        return None
    return PipelineUnit.objects.select_related("task", "result").get(pk=unit_pk)


def _held(unit: PipelineUnit):
    """The unit's row as long as this worker's lease holds it."""
    return PipelineUnit.objects.filter(pk=unit.pk, state=State.RUNNING, lease_token=unit.lease_token)


def renew(unit: PipelineUnit) -> bool:
    """Move the lease's end on; False once the lease is no longer this worker's."""
    return _held(unit).update(lease_until=timezone.now() + lease_length()) == 1


class Lease:
    """A worker's hold on its unit while it runs: a heartbeat thread renews it, and `check()` tells the pipeline,
    before each write, whether it still holds it. Use as `with Lease(unit) as lease:`."""

    def __init__(self, unit: PipelineUnit):
        self.unit = unit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{unit.pk}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # not joined: a beat blocked on a slow database must not hold up the outcome

    def _beat(self) -> None:
        try:
            while not self._stop.wait(heartbeat_interval()):
                try:
                    if not renew(self.unit):
                        log_unit(self.unit, "lease lost to another worker", level=logging.WARNING)
                        return
                except DatabaseError as error:  # tried again at the next beat; two misses in a row still hold
                    log_unit(self.unit, "heartbeat failed (%s)", type(error).__name__, level=logging.WARNING)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def check(self) -> None:
        """Raise LeaseLost unless this worker still holds the unit."""
        if not _held(self.unit).exists():
            raise LeaseLost(f"unit {self.unit.pk} was taken over")

    def lock(self) -> None:
        """Inside a transaction: lock the unit's row while it is still ours, so no claim takes it over before the
        transaction's writes are committed. Raise LeaseLost when it is no longer ours."""
        if not _held(self.unit).select_for_update().exists():
            raise LeaseLost(f"unit {self.unit.pk} was taken over")
