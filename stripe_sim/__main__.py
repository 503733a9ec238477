"""``python -m stripe_sim --host 127.0.0.1 --port 12111 [--state-file PATH] [--public-url URL]``"""

import argparse

import uvicorn

from stripe_sim.app import create_app
from stripe_sim.settings import SimulatorSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stripe_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--state-file", help="SQLite file that keeps state across restarts")
    parser.add_argument("--public-url", help="base URL of hosted pages (default: http://HOST:PORT)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    overrides: dict[str, str] = {"public_url": args.public_url or f"http://{args.host}:{args.port}"}
    if args.state_file:
        overrides["state_file"] = args.state_file
    app = create_app(SimulatorSettings.from_env(None, **overrides))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
