"""Tests build settings validated, with their overrides, and never change them afterwards.

Settings validate on assignment, but a test that changes them after the bot or the services were
built can leave a part holding what it read before, and hides which settings a test runs with.
So tests build them with `make_settings` / `with_overrides` (tests/support/settings.py), and the
scan below fails on any assignment, `setattr` or in-place change through a settings object in
tests/, and on `model_copy(update=...)` / `model_construct`, which skip validation — except in
the tests that check what validate_assignment does, listed in ALLOWED.

A settings object is what a name or attribute called `settings` / `*_settings` holds, what
a settings factory or model class returns, a parameter annotated with one, and any alias of
those (`discord = bot.settings.discord`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

import knowledge.settings

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

#: (file, test) -> why it may assign: it tests what assigning to settings does.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "tests/knowledge/test_settings.py",
        "test_an_assignment_out_of_range_is_refused",
    ): "validate_assignment refuses an out-of-range value",
    (
        "tests/knowledge/test_settings.py",
        "test_an_assigned_timezone_is_converted_and_checked",
    ): "validate_assignment converts and checks a timezone",
    (
        "tests/knowledge/test_settings.py",
        "test_a_data_dir_under_home_is_the_same_folder_for_every_reader",
    ): "validate_assignment expands '~' in data_dir",
}

#: The settings models (Settings, its groups, ChannelScope): building one makes settings.
SETTINGS_CLASSES = {
    name
    for name, value in vars(knowledge.settings).items()
    if isinstance(value, type) and issubclass(value, BaseModel)
}
#: Calls that return settings.
SETTINGS_FACTORIES = {"make_settings", "with_overrides", "load_settings", "get_settings"}

#: Methods that change a list, dict or set in place.
MUTATORS = {
    "append",
    "extend",
    "insert",
    "remove",
    "pop",
    "clear",
    "update",
    "setdefault",
    "add",
    "discard",
    "sort",
    "reverse",
}


def _is_settings_name(name: str) -> bool:
    return name == "settings" or name.endswith("_settings")


def _name_of(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def _returns_settings(call: ast.expr) -> bool:
    """A call such as make_settings(...), DiscordSettings(...) or Settings.model_validate(...)."""
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in {"model_validate", "model_copy"}:
        return _name_of(func.value) in SETTINGS_CLASSES or _is_settings_name(_name_of(func.value))
    name = _name_of(func)
    return name in SETTINGS_FACTORIES or name in SETTINGS_CLASSES


def _annotated_settings(annotation: ast.expr | None) -> bool:
    return annotation is not None and any(
        isinstance(node, ast.Name | ast.Attribute) and _name_of(node) in SETTINGS_CLASSES
        for node in ast.walk(annotation)
    )


class _Scope:
    """The names in one function (or module) that hold settings."""

    def __init__(self, body: ast.AST) -> None:
        self.names: set[str] = set()
        if isinstance(body, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = body.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                if _is_settings_name(arg.arg) or _annotated_settings(arg.annotation):
                    self.names.add(arg.arg)
        # Aliases, in any order: `discord = bot.settings.discord` makes `discord` settings too.
        assignments = [n for n in ast.walk(body) if isinstance(n, ast.Assign | ast.AnnAssign)]
        grew = True
        while grew:
            grew = False
            for node in assignments:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if value is None or not (_returns_settings(value) or self.reaches(value)):
                    continue
                for target in targets:
                    if isinstance(target, ast.Name) and target.id not in self.names:
                        self.names.add(target.id)
                        grew = True

    def reaches(self, node: ast.expr) -> bool:
        """True when `node` is settings, or an attribute or item reached through settings."""
        while isinstance(node, ast.Attribute | ast.Subscript):
            if isinstance(node, ast.Attribute) and _is_settings_name(node.attr):
                return True
            node = node.value
        return isinstance(node, ast.Name) and (_is_settings_name(node.id) or node.id in self.names)

    def changes_settings(self, target: ast.expr) -> bool:
        """An assignment target such as `bot.settings.discord.channels` or `settings.k[1]`."""
        return isinstance(target, ast.Attribute | ast.Subscript) and self.reaches(target.value)


@dataclass(frozen=True)
class Change:
    path: str
    line: int
    test: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.test}: {self.code}"


def _changes_in(node: ast.AST, scope: _Scope) -> Iterator[ast.AST]:
    """The statements and calls in `node`, outside nested functions, that change settings."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        targets: list[ast.expr] = []
        if isinstance(child, ast.Assign):
            targets = child.targets
        elif isinstance(child, ast.AugAssign | ast.AnnAssign):
            targets = [child.target]
        elif isinstance(child, ast.Delete):
            targets = child.targets
        if any(scope.changes_settings(t) for t in targets):
            yield child
        if isinstance(child, ast.Call) and _call_changes_settings(child, scope):
            yield child
        yield from _changes_in(child, scope)


#: Functions and methods that set an attribute of their first argument.
SETTERS = {"setattr", "delattr", "__setattr__", "__delattr__"}


def _call_changes_settings(call: ast.Call, scope: _Scope) -> bool:
    func = call.func
    # setattr(settings.llm, ...), object.__setattr__(...), monkeypatch.setattr(settings.llm, ...)
    if call.args and _name_of(func) in SETTERS:
        return scope.reaches(call.args[0])
    if not isinstance(func, ast.Attribute):
        return False
    # settings.model_copy(update=...) and model_construct skip validation: a copy with
    # overrides is with_overrides(settings, ...).
    if func.attr == "model_construct" or (
        func.attr == "model_copy" and any(k.arg == "update" for k in call.keywords)
    ):
        return scope.reaches(func.value) or _name_of(func.value) in SETTINGS_CLASSES
    # bot.settings.discord.channels.append(...): a list or dict held by settings, changed.
    return (
        func.attr in MUTATORS
        and isinstance(func.value, ast.Attribute | ast.Subscript)
        and scope.reaches(func.value)
    )


def settings_changes(source: str, path: str = "<test>") -> list[Change]:
    """Every place in `source` (a test module) that changes settings after they were built."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found: list[Change] = []

    def visit(node: ast.AST, name: str) -> None:
        scope = _Scope(node)
        for change in _changes_in(node, scope):
            line = getattr(change, "lineno", 0)
            found.append(Change(path, line, name, lines[line - 1].strip() if line else ""))
        for function in _functions_in(node):
            visit(function, function.name)

    visit(tree, "<module>")
    return found


def _functions_in(node: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions directly inside `node` (looking through classes), each with its own scope."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield child
        else:
            yield from _functions_in(child)


def changes_in_tests() -> list[Change]:
    found: list[Change] = []
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        found += settings_changes(path.read_text(encoding="utf-8"), relative)
    return found


def test_no_test_changes_settings_after_building_them() -> None:
    changes = [c for c in changes_in_tests() if (c.path, c.test) not in ALLOWED]
    assert not changes, (
        "Build settings with make_settings/with_overrides (tests/support/settings.py) and pass "
        "them to what the test builds, instead of changing them afterwards:\n"
        + "\n".join(str(c) for c in changes)
    )


def test_every_allowed_assignment_still_exists() -> None:
    # An entry whose test no longer assigns is stale: the allowance would hide a new one.
    found = {(c.path, c.test) for c in changes_in_tests()}
    assert set(ALLOWED) <= found, sorted(set(ALLOWED) - found)


CAUGHT = [
    "bot.settings.discord.gaps_channel_id = gaps.id",
    "services.settings.knowledge.refresh_minutes = 0",
    "settings.llm.retries = 3",
    "refresh_settings.discord.admin_role = 'Curator Admins'",
    "settings.data_dir = tmp_path",
    "bot.settings.discord.channel_scopes[1] = scope",
    "settings.retrieval.k += 1",
    "del bot.settings.discord.channels[0]",
    "setattr(bot.settings.discord, 'allow_dms', True)",
    "monkeypatch.setattr(settings.llm, 'retries', 3)",
    "object.__setattr__(settings, 'data_dir', tmp_path)",
    "quick = settings.model_copy(update={'llm': llm})",
    "group = RetrievalSettings.model_construct(k=-5)",
    "bot.settings.discord.channels.append(1)",
    "discord = bot.settings.discord\ndiscord.allow_dms = True",
    "quiet = with_overrides(base, digest={})\nquiet.digest.post_empty = True",
    "group = RetrievalSettings()\ngroup.k = 3",
    "scope = ChannelScope(topic='agents')\nscope.topic = 'training'",
    "def test(s: Settings) -> None:\n    s.llm.retries = 3",
    "class T:\n    def test(self) -> None:\n        self.bot.settings.discord.guilds = []",
]

LEFT_ALONE = [
    "settings = make_settings(tmp_path, llm={'retries': 3})",
    "self.settings = settings",
    "bot = await start_bot(with_overrides(settings, discord={'guilds': [1]}), services)",
    "retries = settings.llm.retries\nretries += 1",
    "payload = settings.model_dump()\npayload['llm'] = {}",
    "channel.id = settings.discord.gaps_channel_id",
    "config.channels.append(channel)",
    "monkeypatch.setattr(AnswerService, 'stream', spy)",
    "cited = citation(1, 'LoRA').model_copy(update={'url': ''})",
    "same = settings.model_copy()",
]


@pytest.mark.parametrize("code", CAUGHT)
def test_the_scan_catches_a_change_through_settings(code: str) -> None:
    assert len(settings_changes(code)) == 1, code


@pytest.mark.parametrize("code", LEFT_ALONE)
def test_the_scan_leaves_reading_and_building_settings_alone(code: str) -> None:
    assert settings_changes(code) == [], code
