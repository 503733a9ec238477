"""Playwright set-up for the browser journeys: Debian's chromium, never a downloaded one."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    # This hook sees every collected item, not only this folder's.
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def _chromium_present():
    """Skip the journeys where Debian's chromium is not installed, but never on CI: there a
    missing browser would turn the journeys into silent skips."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{CHROMIUM} is missing: browser tests must run on CI "
            "(apt-get install -y chromium; never `playwright install`)."
        )
    pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium to run the browser tests.")


@pytest.fixture(scope="session")
def browser_type_launch_args(_chromium_present, browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }
