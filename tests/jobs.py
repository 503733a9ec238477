"""Running the real Huey queue inside a test."""


class JobRunner:
    """Runs what the real Huey queue holds, as a consumer would, in the test's thread."""

    def __init__(self, huey):
        self.huey = huey

    def run_due(self) -> int:
        """Execute every queued task and every scheduled task that is due by now (the
        time-machine clock). Tasks not yet due go (back) to the schedule."""
        ran = 0
        while True:
            due = self.huey.read_schedule(self.huey._get_timestamp())
            while (task := self.huey.dequeue()) is not None:
                due.append(task)
            if not due:
                return ran
            for task in due:
                self.huey.execute(task)  # one not yet due goes to the schedule instead
                ran += 1

    def scheduled_names(self) -> list[str]:
        return sorted(task.name for task in self.huey.scheduled())

    def pending_names(self) -> list[str]:
        return sorted(task.name for task in self.huey.pending())
