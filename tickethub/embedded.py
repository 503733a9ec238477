"""The embedded default in one process tree: prepare the database, then run the web server
and the Huey consumer side by side until Ctrl-C (or until either of them dies).

Run by ``bin/start``; production runs the same two programs under its own supervisor.
"""

import os
import signal
import subprocess
import sys
import time

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tickethub.settings")
    os.environ.setdefault("SITE_URL", f"http://{HOST}:{PORT}")
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    manage("seed_demo")
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
