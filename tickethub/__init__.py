import os

from tickethub.connections import forget_parent_connections

os.register_at_fork(after_in_child=forget_parent_connections)
