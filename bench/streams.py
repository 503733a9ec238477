"""10,000 open SSE streams on ONE uvicorn process: server memory (VmRSS) and OS threads per
connection, and how long one broadcast takes to reach every stream.

The client is one asyncio process with raw sockets (uvloop when installed); every stream
subscribes to one event topic. A broadcast is one LiveEvent row written on that topic (as
a service would, in its own transaction); the figure is the time from its commit until
each client has read the `event:` line. Baselines from the same run: a second uvicorn
holding the same number of idle keep-alive HTTP connections (the per-connection floor of
uvicorn itself), and the same broadcast to a single open stream (the hub's poll delay).

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.streams [--quick] [--connections N]

Database: scratch SQLite (embedded default) read by the server's live hub.
"""

import argparse
import asyncio
import resource
import time
from urllib.parse import quote

from bench.common import (
    Report,
    free_port,
    percentile,
    proc_cpu_seconds,
    proc_status,
    scratch,
    uvicorn,
    wait_for_site,
)

TOPIC_EVENT_ID = 1
OPENING_AT_ONCE = 200


class Client:
    """One raw HTTP/1.1 connection to the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, path: str, until: bytes) -> "Client":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        client = cls(reader, writer)
        await client.read_until(until)
        return client

    async def read_until(self, marker: bytes) -> float:
        """Read until ``marker`` has arrived; returns the wall-clock time it did."""
        seen = b""
        while marker not in seen:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("the server closed the stream")
            seen = seen[-len(marker) :] + chunk
        return time.time()

    def close(self) -> None:
        self.writer.close()


async def open_many(port: int, path: str, until: bytes, count: int) -> list[Client]:
    gate = asyncio.Semaphore(OPENING_AT_ONCE)

    async def one() -> Client:
        async with gate:
            return await Client.open(port, path, until)

    return await asyncio.gather(*(one() for _ in range(count)))


async def broadcast(clients: list[Client], pid: int, cpu: list | None = None) -> list[float]:
    """Write one LiveEvent row on the streams' topic; seconds from commit to each read.
    Appends the server's and this client's CPU seconds during the broadcast to ``cpu``."""
    from waitlist import live

    readers = [asyncio.ensure_future(client.read_until(b"event:")) for client in clients]
    await asyncio.sleep(0.2)
    server_cpu, client_cpu = proc_cpu_seconds(pid), time.process_time()
    await asyncio.to_thread(live.publish, topic=live.event_topic(TOPIC_EVENT_ID), kind="queue")
    committed = time.time()
    arrived = await asyncio.wait_for(asyncio.gather(*readers), timeout=60)
    if cpu is not None:
        cpu.append((proc_cpu_seconds(pid) - server_cpu, time.process_time() - client_cpu))
    return [moment - committed for moment in arrived]


async def measure_idle(port: int, count: int, pid: int) -> dict:
    """Idle keep-alive connections, each after one answered request (a 403 from the live
    route, which touches neither Django nor the database)."""
    before = proc_status(pid)
    clients = await open_many(port, "/live/events", b"invalid or has expired", count)
    await asyncio.sleep(1)
    after = proc_status(pid)
    for client in clients:
        client.close()
    return {"before": before, "after": after}


async def measure_streams(port: int, count: int, pid: int, broadcasts: int) -> dict:
    from waitlist import live

    token = live.stream_token(topics=[live.event_topic(TOPIC_EVENT_ID)])
    path = f"/live/events?token={quote(token)}"
    # One stream first: starts the hub's poller and its database thread, and gives the
    # single-stream baseline of the broadcast.
    (first,) = await open_many(port, path, b"retry:", 1)
    single = []
    for _ in range(5):
        single += await broadcast([first], pid)
    await asyncio.sleep(1)
    before = proc_status(pid)
    begun = time.monotonic()
    clients = await open_many(port, path, b"retry:", count)
    opened_in = time.monotonic() - begun
    await asyncio.sleep(2)
    after = proc_status(pid)
    delivered, cpu = [], []
    for _ in range(broadcasts):
        delivered.append(await broadcast([first, *clients], pid, cpu))
        await asyncio.sleep(1)
    for client in [first, *clients]:
        client.close()
    return {
        "before": before,
        "after": after,
        "opened_in": opened_in,
        "single": single,
        "delivered": delivered,
        "cpu": cpu,
    }


def run_async(coroutine):
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 connections")
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--broadcasts", type=int, default=3)
    args = parser.parse_args()
    count = 2_000 if args.quick else args.connections
    # Both ends need a descriptor per connection; the server inherits this limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 1000
    if hard != resource.RLIM_INFINITY and hard < wanted:
        raise SystemExit(f"the hard limit of open files ({hard}) is below {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))

    with scratch(name="streams", database="sqlite") as db:
        report = Report("bench/streams.py: open SSE streams on one uvicorn process")
        report.start(
            f"database: scratch SQLite; server: uvicorn (tickethub.asgi) with its defaults;"
            f" client: one asyncio process; {count:,} connections; open-file limit"
            f" {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}"
        )
        port = free_port()
        with uvicorn(port, db.var_dir / "idle.log", "--timeout-keep-alive", "600") as server:
            wait_for_site(port, server)
            idle = run_async(measure_idle(port, count, server.pid))
        port = free_port()
        with uvicorn(port, db.var_dir / "streams.log") as server:
            wait_for_site(port, server)
            streams = run_async(measure_streams(port, count, server.pid, args.broadcasts))

    def per_connection(result: dict) -> float:
        return (result["after"]["VmRSS"] - result["before"]["VmRSS"]) / count

    print(
        f"opened {count:,} streams in {streams['opened_in']:.1f} s;"
        f" server VmRSS {streams['before']['VmRSS']:,} → {streams['after']['VmRSS']:,} KiB,"
        f" threads {streams['before']['Threads']} → {streams['after']['Threads']}"
    )
    print(
        f"idle keep-alive server: VmRSS {idle['before']['VmRSS']:,} →"
        f" {idle['after']['VmRSS']:,} KiB, threads {idle['before']['Threads']} →"
        f" {idle['after']['Threads']}"
    )
    for index, (delivered, (server_cpu, client_cpu)) in enumerate(
        zip(streams["delivered"], streams["cpu"], strict=True), 1
    ):
        print(
            f"broadcast {index}: first {min(delivered):.3f} s, p50 {percentile(delivered, 50):.3f}"
            f" s, p99 {percentile(delivered, 99):.3f} s, last {max(delivered):.3f} s"
            f" (fan-out {max(delivered) - min(delivered):.3f} s); CPU used meanwhile:"
            f" server {server_cpu:.2f} s, client {client_cpu:.2f} s"
        )
    print()
    report.figure(
        "server memory per open stream",
        per_connection(streams),
        "KiB",
        goal=20,
        at_least=False,
        baseline=f"idle keep-alive connection on uvicorn: {per_connection(idle):.1f} KiB",
        digits=1,
    )
    report.figure(
        "server threads added by the streams",
        streams["after"]["Threads"] - streams["before"]["Threads"],
        "",
        goal=0,
        at_least=False,
        baseline=(
            f"{streams['before']['Threads']} threads with one stream open;"
            f" idle connections added {idle['after']['Threads'] - idle['before']['Threads']}"
        ),
    )
    every = [delay for delivered in streams["delivered"] for delay in delivered]
    report.figure(
        f"broadcast delivery p99 to {count + 1:,} streams",
        percentile(every, 99),
        "s",
        goal=1,
        at_least=False,
        baseline=(
            f"the same broadcast to one stream: p50 {percentile(streams['single'], 50):.3f} s,"
            f" max {max(streams['single']):.3f} s (hub polls every 0.5 s)"
        ),
        digits=3,
    )
    report.finish()


if __name__ == "__main__":
    main()
