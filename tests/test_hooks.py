"""The hooks list in tickethub/hooks.py is the truth: every hook an app declares is there,
with exactly the listeners connected at start-up."""

import importlib
import re
from pathlib import Path

from django.apps import apps

import tickethub.hooks
from tickethub.hooks import Hook


def _declared_hooks() -> dict[str, Hook]:
    hooks = {}
    for config in apps.get_app_configs():
        if not (Path(config.path) / "hooks.py").exists():
            continue
        module = importlib.import_module(f"{config.name}.hooks")
        for name, value in vars(module).items():
            if isinstance(value, Hook):
                hooks[f"{config.name}.hooks.{name}"] = value
    return hooks


def _documented_hooks() -> dict[str, list[str]]:
    doc = tickethub.hooks.__doc__ or ""
    documented = {}
    for item in re.split(r"\n- ", doc.split("Every hook and who listens", 1)[1])[1:]:
        names = re.findall(r"``([\w.]+)``", item)
        documented[names[0]] = sorted(names[1:])
    return documented


def test_every_hook_is_documented_with_the_listeners_connected_to_it():
    connected = {name: sorted(hook.listener_names()) for name, hook in _declared_hooks().items()}
    assert connected, "no hooks found"
    assert connected == _documented_hooks()


def test_a_listener_connected_twice_runs_once():
    calls: list[int] = []
    hook: Hook[int] = Hook("test.hook")
    hook.connect(calls.append)
    hook.connect(calls.append)
    hook.fire(7)
    assert calls == [7]
