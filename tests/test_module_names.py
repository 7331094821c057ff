"""Two modules never share a name: a traceback, a log line's logger or a grep names one file."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_two_modules_or_packages_share_a_name() -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for package in ("knowledge", "bot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if path.name == "__init__.py":
                # A package's name counts too: knowledge/digest/ and a digest.py would clash.
                places[path.parent.name].append(str(relative.parent))
            else:
                places[path.stem].append(str(relative))
    shared = {name: where for name, where in places.items() if len(where) > 1}
    assert not shared, f"module names used more than once: {shared}"
