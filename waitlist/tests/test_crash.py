"""kill -9 in the middle of the waiting list's work, then prove nothing but in-flight work
was lost and one sweep leaves every queue served.

Every change is one transaction, so a killed process can only lose what it had not yet
committed (and the jobs it had not yet queued); these tests check that against the rows,
after each kill and again after a sweep.
"""

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tickethub.errors import DomainError
from waitlist import services
from waitlist.models import WaitingListEntry
from waitlist.tests.invariants import broken_invariants, overdue_offers
from waitlist.tests.processes import FORK, database_url, fork, kill, reaped

# The processes queue e-mails and expiry jobs on the real queue: ``jobs`` empties it around.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("jobs")]
Status = WaitingListEntry.Status

# The churning processes run the engine on a clock where a real second is an hour, so the
# 30-minute offers they make fall due within the test and get expired by the engine.
CLOCK_SPEED = 3600.0
ROUNDS = 8
CHURNERS = 2
CHURNER_LIFETIME_SECONDS = 30.0
STARTED, OPS, IN_CALL = range(3)  # per churner, in the shared progress array


class VirtualClock:
    def __init__(self) -> None:
        self.origin = time.time()
        self.skipped = timedelta()

    def now(self) -> datetime:
        virtual = self.origin + (time.time() - self.origin) * CLOCK_SPEED
        return datetime.fromtimestamp(virtual, tz=UTC) + self.skipped

    def skip(self, delta: timedelta) -> datetime:
        """Move on (for this process and the children it forks next)."""
        self.skipped += delta
        return self.now()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.005)


def all_broken(ticket_type_ids: list[int]) -> list[str]:
    return [problem for pk in ticket_type_ids for problem in broken_invariants(pk)]


# --- a web worker's share of the work, killed at random ---------------------------------


def _random_entry(rng: random.Random, ticket_type_ids: list[int], status: str):
    return (
        WaitingListEntry.objects.filter(ticket_type_id=rng.choice(ticket_type_ids), status=status)
        .select_related("user")
        .order_by("?")
        .first()
    )


def _one_change(rng, ticket_type_ids, free_type_id, users, now) -> None:
    """One thing a buyer, the expiry job or the sweep does, chosen at random."""
    action = rng.choices(
        ["join", "decline", "leave", "take", "expire", "sweep"], weights=[40, 15, 10, 10, 20, 5]
    )[0]
    if action == "join":
        services.join_waiting_list(
            user=rng.choice(users),
            ticket_type_id=rng.choice(ticket_type_ids),
            quantity=rng.randint(1, 2),
            now=now,
        )
    elif action in {"decline", "take"}:
        entry = _random_entry(
            rng, [free_type_id] if action == "take" else ticket_type_ids, Status.OFFERED
        )
        if entry is not None:
            service = services.accept_offer if action == "take" else services.decline_offer
            service(user=entry.user, entry_id=entry.pk, now=now)
    elif action == "leave":
        entry = _random_entry(rng, ticket_type_ids, Status.WAITING)
        if entry is not None:
            services.leave_waiting_list(user=entry.user, entry_id=entry.pk, now=now)
    elif action == "expire":
        services.expire_overdue_offers(ticket_type_id=rng.choice(ticket_type_ids), now=now)
    else:
        services.sweep(now=now)


@dataclass
class Churn:
    """What the churners share with the test: the queues, the clock and their progress
    (lock-free shared memory, as a killed child must not leave a lock held)."""

    ticket_type_ids: list[int]
    free_type_id: int
    user_ids: list[int]
    clock: VirtualClock
    progress: Any = field(default_factory=lambda: FORK.RawArray("q", CHURNERS * 3))

    def of(self, slot: int, counter: int) -> int:
        return self.progress[slot * 3 + counter]


def _churn(slot: int, churn: Churn, seed: int, error_file: Path) -> None:
    """Change the queues until killed; an unexpected error is written down and ends it."""
    rng = random.Random(seed)
    users = list(User.objects.filter(pk__in=churn.user_ids))
    progress, base = churn.progress, slot * 3
    progress[base + STARTED] = 1
    deadline = time.monotonic() + CHURNER_LIFETIME_SECONDS
    try:
        while time.monotonic() < deadline:
            progress[base + IN_CALL] = 1
            # A refusal (sold out, offer gone, busy) is what a buyer would be told.
            with contextlib.suppress(DomainError):
                _one_change(
                    rng, churn.ticket_type_ids, churn.free_type_id, users, churn.clock.now()
                )
            progress[base + IN_CALL] = 0
            progress[base + OPS] += 1
    except BaseException:
        error_file.write_text(traceback.format_exc())
        raise


def _churn_and_kill(churn: Churn, rng: random.Random, error_files: list[Path]) -> tuple[int, int]:
    """Start the churners, SIGKILL each at a random moment; returns (changes made, kills
    that landed inside a service call)."""
    churn.progress[:] = [0] * len(churn.progress)
    churners: list = []
    in_flight = 0
    with reaped(churners):
        for slot, error_file in enumerate(error_files):
            churners.append(fork(_churn, slot, churn, rng.randrange(10**6), error_file))
        wait_for(
            lambda: (
                all(churn.of(slot, STARTED) for slot in range(CHURNERS))
                or any(churner.exitcode is not None for churner in churners)
            ),
            timeout=30,
            what="the churners to start",
        )
        for slot, churner in enumerate(churners):
            time.sleep(rng.uniform(0, 0.3))
            in_flight += churn.of(slot, IN_CALL)
            assert churner.exitcode is None, _died(churner, error_files[slot])
            kill(churner)
    return sum(churn.of(slot, OPS) for slot in range(CHURNERS)), in_flight


def test_processes_killed_mid_change_leave_every_invariant_intact(organiser, settings, tmp_path):
    settings.WAITLIST_JOIN_LIMIT = 1000  # the churners join and leave over and over
    # The fast clock runs on for days; the event must not be over before the test is.
    event = EventFactory(
        organiser=organiser, ticket_types=[], starts_at=timezone.now() + timedelta(days=365)
    )
    scarce = TicketTypeFactory(event=event, price_minor=2500, capacity=3)
    free = TicketTypeFactory(event=event, price_minor=0, capacity=40)
    churn = Churn(
        ticket_type_ids=[scarce.pk, free.pk],
        free_type_id=free.pk,
        user_ids=[user.pk for user in UserFactory.create_batch(30)],
        clock=VirtualClock(),
    )
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    ops = in_flight_kills = 0

    for round_number in range(ROUNDS):
        error_files = [tmp_path / f"churner-{round_number}-{slot}.txt" for slot in range(CHURNERS)]
        made, in_flight = _churn_and_kill(churn, rng, error_files)
        ops, in_flight_kills = ops + made, in_flight_kills + in_flight

        context = f"seed {seed}, round {round_number}"
        assert all_broken(churn.ticket_type_ids) == [], f"{context}: right after the kills"
        # Past every offer's expiry: the sweep alone must expire them all and serve the queue.
        now = churn.clock.skip(timedelta(minutes=31))
        services.sweep(now=now)
        assert all_broken(churn.ticket_type_ids) == [], f"{context}: after the sweep"
        overdue = [o for pk in churn.ticket_type_ids for o in overdue_offers(pk, now)]
        assert overdue == [], f"{context}: overdue offers left by the sweep"

    # Not vacuous: the churners did real work and most kills landed inside a service call.
    assert ops >= ROUNDS * CHURNERS, f"seed {seed}: only {ops} changes made"
    assert in_flight_kills >= ROUNDS, f"seed {seed}: {in_flight_kills} kills mid-call"
    assert WaitingListEntry.objects.exclude(status=Status.WAITING).exists()


def _died(churner, error_file: Path) -> str:
    churner.join(timeout=5)
    error = error_file.read_text() if error_file.exists() else "(no traceback written)"
    return f"churner {churner.pid} ended by itself ({churner.exitcode}):\n{error}"


# --- the job consumer, killed while it expires offers -----------------------------------

CONSUMER_WORKERS = 4
CONSUMER_KILLS = 2
QUEUES = 12


def _start_consumer(log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tickethub.settings",
        "DATABASE_URL": database_url(),  # pytest-django's test database, not the real one
        "HUEY_WORKERS": str(CONSUMER_WORKERS),
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            # No periodic sweep: the test runs the one sweep itself. System checks are not
            # under test and cost seconds at every start.
            [sys.executable, "manage.py", "run_huey", "--no-periodic", "--skip-checks"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _stop(consumer: subprocess.Popen, signal_number: int) -> int:
    if consumer.poll() is None:
        consumer.send_signal(signal_number)
    try:
        return consumer.wait(timeout=30)
    except subprocess.TimeoutExpired:
        consumer.kill()
        return consumer.wait(timeout=10)


def _kill_while_working(log: Path, rng: random.Random) -> None:
    """Start a consumer, let it take its first job, SIGKILL it up to 300 ms later."""
    queued = HUEY.pending_count()
    consumer = _start_consumer(log)
    try:
        wait_for(
            lambda: HUEY.pending_count() < queued or consumer.poll() is not None,
            timeout=60,
            what="the consumer to take its first job",
        )
        assert consumer.poll() is None, f"the consumer died by itself:\n{_tail(log)}"
        time.sleep(rng.uniform(0, 0.3))
    finally:
        assert _stop(consumer, signal.SIGKILL) == -signal.SIGKILL


def _run_until_drained(log: Path) -> None:
    """Start a consumer, wait until the queue has stayed empty for half a second, stop it
    gracefully (jobs it is running finish first)."""
    consumer = _start_consumer(log)
    idle_since = time.monotonic()

    def drained() -> bool:
        nonlocal idle_since
        if HUEY.pending_count():
            idle_since = time.monotonic()
        return time.monotonic() - idle_since > 0.5 or consumer.poll() is not None

    try:
        wait_for(drained, timeout=90, what="the restarted consumer to drain the queue")
    finally:
        exit_code = _stop(consumer, signal.SIGINT)
    assert exit_code == 0, f"consumer exit {exit_code}:\n{_tail(log)}"


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _queues_with_overdue_offers(rng: random.Random) -> list[WaitingListEntry]:
    """QUEUES ticket types of capacity 3, each with an offer that fell due an hour and a
    half ago (so its expiry job is due at once) and three people waiting behind it."""
    two_hours_ago = timezone.now() - timedelta(hours=2)
    event = EventFactory(ticket_types=[])
    holder, *queuers = UserFactory.create_batch(4)
    first_offers = []
    for ticket_type in TicketTypeFactory.create_batch(QUEUES, event=event, capacity=3):
        joined = services.join_waiting_list(
            user=holder, ticket_type_id=ticket_type.pk, quantity=3, now=two_hours_ago
        )
        first_offers.append(joined.entry)
        for queuer in queuers:
            services.join_waiting_list(
                user=queuer,
                ticket_type_id=ticket_type.pk,
                quantity=rng.randint(1, 2),
                now=two_hours_ago,
            )
    return first_offers


def test_a_killed_job_consumer_loses_only_jobs_in_flight_and_the_sweep_repairs_them(
    settings, tmp_path
):
    settings.WAITLIST_JOIN_LIMIT = 1000
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    first_offers = _queues_with_overdue_offers(rng)
    ticket_type_ids = [offer.ticket_type_id for offer in first_offers]
    expiry_jobs = {task.id for task in HUEY.pending() if task.name == "expire_offer_task"}
    assert len(expiry_jobs) == QUEUES

    for kill_number in range(CONSUMER_KILLS):
        _kill_while_working(tmp_path / f"consumer-{kill_number}.log", rng)
        assert all_broken(ticket_type_ids) == [], f"seed {seed}: right after a kill"
    assert HUEY.pending_count() > 0, "the kills came too late to interrupt anything"
    _run_until_drained(tmp_path / "consumer-restarted.log")
    assert all_broken(ticket_type_ids) == [], f"seed {seed}: after the restart"

    # A job that finished stored its result (True: it expired its offer, in the test's
    # database); each kill can have cut short at most one job per worker, and only an
    # expiry job cut short can have left its offer overdue.
    results = {job: HUEY.result(job, preserve=True) for job in expiry_jobs}
    finished = {job for job, expired in results.items() if expired is not None}
    assert {results[job] for job in finished} == {True}, f"seed {seed}: {results}"
    cut_short = expiry_jobs - finished
    assert len(cut_short) <= CONSUMER_KILLS * CONSUMER_WORKERS, f"seed {seed}"
    now = timezone.now()
    left_overdue = [offer for pk in ticket_type_ids for offer in overdue_offers(pk, now)]
    assert len(left_overdue) <= len(cut_short), f"seed {seed}"

    services.sweep(now=now)

    assert all_broken(ticket_type_ids) == [], f"seed {seed}: after the sweep"
    assert [offer for pk in ticket_type_ids for offer in overdue_offers(pk, now)] == []
    for first_offer in first_offers:
        first_offer.refresh_from_db()
        assert first_offer.status == Status.EXPIRED, f"seed {seed}"
