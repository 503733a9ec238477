"""Playwright set-up for the browser journeys: Debian's chromium, never a downloaded one."""

import contextlib
import os
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

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


# The Content-Security-Policy is checked on every page of every journey: a page the policy
# blocks anything on fails its test. Chrome reports a violation twice, as a
# securitypolicyviolation event in the page and as a console error; both are collected.
REPORT_CSP_VIOLATION = """
document.addEventListener("securitypolicyviolation", (violation) => {
  window.__reportCspViolation(
    `${violation.effectiveDirective} blocked ${violation.blockedURI || "inline"}` +
    ` on ${violation.documentURI} (${violation.sourceFile}:${violation.lineNumber})`
  );
});
"""


def watch_for_csp_violations(context, violations: list[str]) -> None:
    context.expose_binding(
        "__reportCspViolation", lambda _source, report: violations.append(report)
    )
    context.add_init_script(REPORT_CSP_VIOLATION)

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    context.on("console", on_console)


@pytest.fixture
def new_context(new_context):
    """pytest-playwright's context factory (behind ``page`` and ``context`` too), with every
    context watched for CSP violations; any one fails the test at its end."""
    violations: list[str] = []
    contexts = []

    def new_watched_context(**kwargs):
        context = new_context(**kwargs)
        watch_for_csp_violations(context, violations)
        contexts.append(context)
        return context

    yield new_watched_context
    for context in contexts:
        for page in context.pages:  # let reports still on their way arrive
            with contextlib.suppress(PlaywrightError):  # a closed page has nothing to report
                page.evaluate("() => new Promise((done) => setTimeout(done, 50))")
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
