"""Tests build settings validated, with their overrides, and never change them afterwards.

Settings validate on assignment, but a test that changes them after the bot or the services were
built can leave a part holding what it read before, and hides which settings a test runs with.
So tests build them with `make_settings` / `with_overrides` (tests/support/settings.py), and the
scan below fails on any assignment, `setattr` or in-place change through a settings object in
tests/, and on `model_copy(update=...)` / `model_construct`, which skip validation — except in
the tests that check what validate_assignment does, listed in ALLOWED. The code under
knowledge/, bot/ and bench/ is scanned the same way, with no exceptions.

A settings object is what a name or attribute called `settings` / `*_settings` holds, what
a settings factory or model class returns, a parameter annotated with one, and any alias of
those (`discord = bot.settings.discord`).

And they build them in one way, so the test defaults (hash embedder, the sample articles) live
in one place: a second scan fails on a whole `Settings` built directly in tests/ — by
`load_settings`, `get_settings`, `Settings(...)` or `Settings.model_validate*` — and on a test
module defining its own `make_settings` / `with_overrides`, except in the files listed in
BUILDS_DIRECTLY, which test reading settings from the environment. A single group
(`LLMSettings(...)`) is not a whole Settings and is built freely.
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


def test_the_code_itself_copies_settings_only_through_with_overrides() -> None:
    """knowledge/, bot/ and bench/ are held to the same rule: a copy with changes is
    `knowledge.settings.with_overrides`, which validates it; nothing assigns to settings."""
    found: list[Change] = []
    for folder in ("knowledge", "bot", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            found += settings_changes(path.read_text(encoding="utf-8"), relative)
    assert not found, "\n".join(str(c) for c in found)


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


# -- where whole settings are built -----------------------------------------------------------

#: file -> why it may build a whole Settings itself rather than with make_settings/with_overrides.
BUILDS_DIRECTLY: dict[str, str] = {
    "tests/support/settings.py": "make_settings and with_overrides themselves",
    "tests/knowledge/test_settings.py": "tests load_settings itself: variables, .env and errors",
    "tests/test_deploy.py": "loads .env.example through load_settings, as start-up reads .env",
    "tests/faults/test_data_dir_faults.py": (
        "get_settings: the settings the `curator` commands it runs read from CURATOR_*"
    ),
    "tests/bot/cli/test_index_commands.py": (
        "get_settings: the settings the `curator` commands it runs read from CURATOR_*"
    ),
}

#: Functions that build a whole Settings from the environment and their arguments.
SETTINGS_LOADERS = {"load_settings", "get_settings"}
#: Methods of the Settings class that build one.
SETTINGS_METHODS = {"model_validate", "model_validate_json", "model_validate_strings"}
#: The one helper's names: a test module defining its own hides which defaults it uses.
HELPER_NAMES = {"make_settings", "with_overrides"}


@dataclass(frozen=True)
class DirectBuild:
    path: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code}"


def _imported_names(tree: ast.AST) -> dict[str, str]:
    """Local name -> name in knowledge.settings, for `from knowledge.settings import X as Y`."""
    return {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "knowledge.settings"
        for alias in node.names
    }


def _builds_settings(call: ast.Call, imported: dict[str, str]) -> bool:
    """load_settings(...), get_settings(), Settings(...) or Settings.model_validate(...), under
    any import alias or through the module (`knowledge.settings.load_settings(...)`)."""

    def real(node: ast.expr) -> str:
        name = _name_of(node)
        return imported.get(name, name) if isinstance(node, ast.Name) else name

    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in SETTINGS_METHODS:
        return real(func.value) == "Settings"
    return real(func) in SETTINGS_LOADERS | {"Settings"}


def direct_builds(source: str, path: str = "<test>") -> list[DirectBuild]:
    """Every place in `source` (a test module) that builds a whole Settings itself, and every
    definition of its own make_settings / with_overrides."""
    tree = ast.parse(source)
    lines = source.splitlines()
    imported = _imported_names(tree)
    found = [
        DirectBuild(path, node.lineno, lines[node.lineno - 1].strip())
        for node in ast.walk(tree)
        if (isinstance(node, ast.Call) and _builds_settings(node, imported))
        or (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in HELPER_NAMES)
    ]
    return sorted(found, key=lambda build: build.line)


def direct_builds_in_tests() -> list[DirectBuild]:
    found: list[DirectBuild] = []
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        found += direct_builds(path.read_text(encoding="utf-8"), relative)
    return found


def test_tests_build_whole_settings_with_the_one_helper() -> None:
    builds = [b for b in direct_builds_in_tests() if b.path not in BUILDS_DIRECTLY]
    assert not builds, (
        "Build settings with make_settings(data_dir, group={...}) or with_overrides(settings, "
        "...) from tests/support/settings.py, so the test defaults stay in one place (pass "
        "knowledge={'sources': []} or another embedder where the test needs it), or add the "
        "file to BUILDS_DIRECTLY with the reason it must read settings itself:\n"
        + "\n".join(str(b) for b in builds)
    )


def test_every_file_allowed_to_build_settings_still_does() -> None:
    # A stale entry would let a new direct build into that file unnoticed.
    found = {b.path for b in direct_builds_in_tests()}
    assert set(BUILDS_DIRECTLY) <= found, sorted(set(BUILDS_DIRECTLY) - found)


BUILT_DIRECTLY = [
    "settings = load_settings(data_dir=tmp_path, embeddings={'provider': 'hash'})",
    "index = KnowledgeIndex(get_settings())",
    "settings = Settings(data_dir=tmp_path, embeddings=EmbeddingSettings(provider='hash'))",
    "settings = Settings.model_validate({'data_dir': str(tmp_path)})",
    "settings = Settings.model_validate_json(text)",
    "from knowledge.settings import load_settings as load\nsettings = load(data_dir=tmp_path)",
    "from knowledge.settings import Settings as S\nsettings = S(data_dir=tmp_path)",
    "settings = knowledge.settings.load_settings()",
    "def make_settings(tmp_path: Path) -> Settings:\n    return base",
    "async def with_overrides(settings: Settings) -> Settings:\n    return settings",
]

BUILT_WITH_THE_HELPER = [
    "settings = make_settings(tmp_path / 'data', knowledge={'sources': []})",
    "settings = with_overrides(base, llm={'retries': 0})",
    "llm = LLMSettings(base_url=url, retries=0)",
    "group = KnowledgeSettings.model_validate({'sources': []})",
    "get_settings.cache_clear()",
    "from knowledge.settings import Settings\ndef f(settings: Settings) -> None: ...",
    "code = 'index = KnowledgeIndex(load_settings())'",
    "def feed_settings(tmp_path: Path) -> Settings:\n    return make_settings(tmp_path)",
]


@pytest.mark.parametrize("code", BUILT_DIRECTLY)
def test_the_scan_catches_a_whole_settings_built_directly(code: str) -> None:
    assert len(direct_builds(code)) == 1, code


@pytest.mark.parametrize("code", BUILT_WITH_THE_HELPER)
def test_the_scan_leaves_the_helper_and_single_groups_alone(code: str) -> None:
    assert direct_builds(code) == [], code
