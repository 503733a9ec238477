"""Database connections across os.fork(): a child must never use its parent's sockets.

uvicorn starts its --workers by spawning fresh interpreters, but other launchers fork a
process that has already used the database (gunicorn --preload, Huey's process workers,
the benchmarks' and tests' worker processes). The child inherits the parent's connection
pool, with the parent's open connections in it, and would hand them out: two processes
talking over one socket corrupt both sessions. Registered in tickethub/__init__.py.
"""

import sys

# Kept, never closed nor collected: closing a socket the parent still uses would end the
# parent's session on the server.
_inherited: list[object] = []


def forget_parent_connections() -> None:
    """In a forked child: drop the pools and open connections inherited from the parent,
    so the child opens its own pool and connections on its first query."""
    db = sys.modules.get("django.db")
    if db is None:
        return
    postgresql = sys.modules.get("django.db.backends.postgresql.base")
    if postgresql is not None:
        pools = postgresql.DatabaseWrapper._connection_pools
        _inherited.extend(pools.values())
        pools.clear()
    for wrapper in db.connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _inherited.append(wrapper.connection)
            wrapper.connection = None
