"""Imports point one way: adapters -> conversations -> scheduler -> core.

``core`` (the protocol's rules and the store) imports no channel, no
conversation and no scheduler; the conversation layer imports no chat app's
library, so a new channel is an adapter that only translates; the scheduler
knows neither. The local stand-ins of the chat platforms (``local_servers``)
and the product never import each other (docs/DESIGN.md §2). Read from the
source with ``ast``, so an import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The conversation layer: everything in bot/ but the channel adapters, the bot's
# web server (an HTTP adapter), the command line, the demo and the local servers
# that stand in for chat apps.
LAYER_EXCLUDED = (
    "bot/channels/telegram",
    "bot/channels/wechat",
    "bot/channels/wecom",
    "bot/channels/wxcrypto",
    "bot/channels/token_api",
    "bot/channels/push_queue",
    "bot/web",
    "bot/cli",
    "bot/demo",
    "bot/runner",
)
CHAT_LIBRARIES = (
    "telegram",
    "aiohttp",
    "bot.channels.telegram",
    "bot.channels.wechat",
    "bot.channels.wecom",
    "bot.channels.wxcrypto",
    "bot.channels.token_api",
    "bot.channels.push_queue",
    "bot.web",
    "local_servers",
)
PRODUCT = ("bot", "core", "scheduler")


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _offending(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad: dict[str, list[str]] = {}
    for path in paths:
        hits = sorted(
            name
            for name in _imports(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)
        )
        if hits:
            bad[str(path.relative_to(ROOT))] = hits
    return bad


def _layer() -> list[Path]:
    return [
        path
        for path in _modules("bot")
        if not str(path.relative_to(ROOT)).startswith(LAYER_EXCLUDED)
    ]


def test_core_imports_no_adapter_no_conversation_and_no_scheduler() -> None:
    forbidden = ("bot", "scheduler", "telegram", "aiohttp", "apscheduler")
    assert _offending(_modules("core"), forbidden) == {}


def test_the_conversation_layer_imports_no_chat_app() -> None:
    layer = _layer()
    assert ROOT / "bot" / "conversations" / "dispatch.py" in layer
    assert ROOT / "bot" / "staff" / "actions.py" in layer
    assert _offending(layer, CHAT_LIBRARIES) == {}


def test_the_scheduler_imports_neither_the_bot_nor_a_chat_app() -> None:
    assert _offending(_modules("scheduler"), ("bot", "telegram", "aiohttp")) == {}


# The rehearsal (`python -m bot demo`) plays patients and staff against the
# stand-ins, so it alone may hold one in its own process; what `run` loads may not.
REHEARSAL = ROOT / "bot" / "demo"


@pytest.mark.parametrize("folder", PRODUCT)
def test_the_product_never_imports_the_local_servers(folder: str) -> None:
    runtime = [path for path in _modules(folder) if REHEARSAL not in path.parents]
    assert _offending(runtime, ("local_servers",)) == {}


def test_the_local_servers_import_nothing_from_the_product() -> None:
    assert ROOT / "local_servers" / "wechat" / "server.py" in _modules("local_servers")
    assert _offending(_modules("local_servers"), PRODUCT) == {}


@pytest.mark.parametrize("folder", ["core", "bot", "scheduler", "local_servers"])
def test_the_check_sees_a_forbidden_import(folder: str, tmp_path: Path) -> None:
    """The scan is not vacuous: a module importing telegram is found."""
    module = tmp_path / "module.py"
    module.write_text("def f() -> None:\n    from telegram import Bot\n", encoding="utf-8")
    assert _imports(module) == {"telegram"}
    assert _modules(folder), f"no modules found under {folder}/"
