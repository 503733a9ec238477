"""Search jobs: keep the vocabulary's counts current and drop words no event holds."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from search.services import refresh_vocabulary

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="23"))
def refresh_vocabulary_hourly() -> None:
    with lock_task("search-vocabulary"):
        dropped = refresh_vocabulary()
    if dropped:
        logger.info("Search vocabulary refreshed: %d words no event holds dropped.", dropped)
