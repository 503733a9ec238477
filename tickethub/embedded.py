"""The embedded default in one process tree: prepare the database, then run the web server,
the Huey consumer and (with no Stripe key) the Stripe simulator side by side until Ctrl-C
(or until any of them dies).

Run by ``bin/start``; production runs the same two programs under its own supervisor.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True)


def start_stripe_simulator() -> subprocess.Popen | None:
    """The bundled Stripe simulator, when no Stripe key is set: webhooks go to this site,
    signed with the secrets the site expects, and its state lives in var/."""
    from django.conf import settings

    if not settings.STRIPE_SIMULATOR:
        return None
    address = settings.STRIPE_SIMULATOR_URL.removeprefix("http://").rstrip("/")
    host, _, port = address.partition(":")
    environment = {
        **os.environ,
        "STRIPE_SIM_WEBHOOK_URL": f"{os.environ['SITE_URL']}/stripe/webhook/",
        "STRIPE_SIM_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
        "STRIPE_SIM_CONNECT_WEBHOOK_SECRET": settings.STRIPE_CONNECT_WEBHOOK_SECRET,
    }
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_sim",
            "--host",
            host,
            "--port",
            port or "80",
            "--state-file",
            str(settings.VAR_DIR / "stripe_sim.sqlite3"),
            "--log-level",
            "warning",
        ],
        env=environment,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{settings.STRIPE_SIMULATOR_URL}/_sim/faults", timeout=1)  # noqa: S310
            return simulator
        except (urllib.error.URLError, ConnectionError):
            if simulator.poll() is not None:
                break
            time.sleep(0.2)
    raise SystemExit(f"The Stripe simulator did not start on {settings.STRIPE_SIMULATOR_URL}.")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tickethub.settings")
    os.environ.setdefault("SITE_URL", f"http://{HOST}:{PORT}")
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    simulator = start_stripe_simulator()
    try:
        manage("seed_demo")
    except BaseException:
        if simulator is not None:
            simulator.terminate()
        raise
    children = [
        subprocess.Popen([sys.executable, "manage.py", "run_huey", "--quiet"]),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tickethub.asgi:application",
                "--host",
                HOST,
                "--port",
                PORT,
                "--lifespan",
                "off",
            ]
        ),
    ]
    if simulator is not None:
        children.append(simulator)
    print(f"\nTicket Hub is running on http://{HOST}:{PORT}/ (Ctrl-C to stop)\n", flush=True)

    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return max(child.returncode or 0 for child in children)


if __name__ == "__main__":
    sys.exit(main())
