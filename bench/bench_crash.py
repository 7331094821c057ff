"""Crash consistency: N random SIGKILLs of `curator reindex` over a 2,000-card corpus, then one
reindex; the catalog, Chroma and BM25 must then hold exactly the cards' chunks.

Before each killed run `--churn` of the cards are edited (and a quarter as many deleted and
added), so every run has work to do. Kills take turns aiming at a random moment (loading,
planning, checking the store, embedding, deleting, the BM25 rebuild), at a half-written batch
of this run (articles pending in its catalog), and at a moment this run has written but holds
no batch pending (the store check, between batches, before the BM25 rebuild). Batches are small
(`--batch-chunks`). After
the last kill one reindex runs to the end; then the stores are compared chunk by chunk:
catalog articles against the cards, Chroma ids and text hashes against the catalog's chunks,
BM25 ids against the catalog. "repairs" counts the vectors the final run's consistency check
re-embedded or deleted (the rest is redone by the pending-article protocol of index_writer.py).

    .venv/bin/python -m bench.bench_crash                    # 20 kills, 2,000 cards
    .venv/bin/python -m bench.bench_crash --kills 5 --cards 500 --json out.json

Prints the machine and the command that reproduces the run, one JSON line per kill, then the
totals; exits 1 when any mismatch remains.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.measure import machine, machine_line, reproduce_command

REINDEX = (
    "import sys; from knowledge.index_writer import Indexer; Indexer.batch_chunks = {batch}; "
    "from bot.cli.app import main; sys.argv = ['curator', 'reindex', '--json']; main()"
)
WORDS = [
    "amber", "basalt", "cobalt", "dahlia", "ember", "fjord", "garnet", "harbor", "indigo",
    "juniper", "kelp", "lagoon", "meadow", "nectar", "obsidian", "pewter", "quartz", "russet",
    "saffron", "tundra", "umber", "velvet", "willow", "xenon", "yarrow", "zephyr",
]  # fmt: skip


def write_card(folder: Path, i: int, version: int, rng: random.Random) -> None:
    """Card `i` at `version`: a summary and a body of a few paragraphs."""
    words = [rng.choice(WORDS) for _ in range(60)]
    body = "\n\n".join(" ".join(words[k : k + 20]) + "." for k in range(0, 60, 20))
    (folder / f"card-{i:05d}.md").write_text(
        "---\n"
        f'title: "Card {i} v{version}: {words[0]} {words[1]}"\n'
        f"url: https://example.org/card-{i}\n"
        "publisher: Bench Journal\n"
        "curated: 2026-11-20T09:00:00Z\n"
        f"topics: [{words[2]}]\n"
        "---\n\n"
        f"## Summary\n\nCard {i} version {version} on {words[3]} and {words[4]}.\n\n"
        f"## Article\n\n{body}\n",
        encoding="utf-8",
    )


def mutate(
    folder: Path, live: dict[int, int], next_id: int, rng: random.Random, churn: float
) -> int:
    """Edit `churn` of the cards, delete and add a quarter as many; returns the next free
    card number."""
    n = max(1, round(len(live) * churn))
    for i in rng.sample(sorted(live), n):
        live[i] += 1
        write_card(folder, i, live[i], rng)
    for i in rng.sample(sorted(live), max(1, n // 4)):
        (folder / f"card-{i:05d}.md").unlink()
        del live[i]
    for _ in range(max(1, n // 4)):
        live[next_id] = 0
        write_card(folder, next_id, 0, rng)
        next_id += 1
    return next_id


def run_reindex(env: dict[str, str], batch: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", REINDEX.format(batch=batch)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def catalog_state(catalog: Path) -> tuple[bool, bool]:
    """(a batch is pending, BM25 is marked dirty), read from the catalog without locking."""
    if not catalog.exists():
        return False, False
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1)
        ) as db:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error:  # schema not there yet, or briefly locked
        return False, False
    return bool(json.loads(meta.get("pending", "[]"))), meta.get("bm25_dirty") == "1"


def last_write(catalog: Path) -> float:
    """When the catalog (or its write-ahead log) last changed."""
    wal = catalog.with_name(catalog.name + "-wal")
    return max((p.stat().st_mtime for p in (catalog, wal) if p.exists()), default=0.0)


#: Where a kill is aimed: a random moment, or the first sign of a phase of this very run.
TARGETS = ("random moment", "batch half-written", "between writes, no batch pending")


def kill_reindex(
    env: dict[str, str], batch: int, target: str, latest: float, catalog: Path
) -> dict[str, Any]:
    """Start a reindex and SIGKILL it at `target` (a random moment up to `latest` s in, or a
    phase seen in its catalog), or report that it finished first."""
    started = time.monotonic()
    wall = time.time()
    deadline = started + random.uniform(0.3, latest)
    process = subprocess.Popen(
        [sys.executable, "-c", REINDEX.format(batch=batch)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while process.poll() is None:
        now = time.monotonic()
        if target == TARGETS[0]:
            hit = now >= deadline
        else:
            pending, dirty = catalog_state(catalog)
            # Only this run's own writes count, not the state a previous kill left.
            ours = last_write(catalog) > wall
            hit = ours and (pending if target == TARGETS[1] else dirty and not pending)
        if hit:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return {"killed": True, "target": target, "after_s": round(now - started, 2)}
        time.sleep(0.005)
    return {"killed": False, "target": target, "finished_s": round(time.monotonic() - started, 2)}


def mismatches(env: dict[str, str], cards: Path) -> dict[str, int]:
    """Differences between the cards, the catalog, Chroma (ids and text hashes) and BM25."""
    os.environ.update(env)
    from knowledge.index import KnowledgeIndex
    from knowledge.loaders import load_sources
    from knowledge.settings import load_settings
    from knowledge.store.vector_store import text_hash

    settings = load_settings()
    loaded = load_sources([str(cards)], settings.knowledge)
    index = KnowledgeIndex(settings)
    try:
        expected_articles = {a.id for a in loaded.articles}
        catalog_articles = {a.id for a in index.list_articles()}
        chunks = {c.id: text_hash(c) for c in index.catalog.iter_chunks()}
        stored = {i: m.get("h") for i, m in index.vectors.metadatas().items()}
        lexical = set(index.lexical.ids())
        return {
            "articles_missing": len(expected_articles - catalog_articles),
            "articles_extra": len(catalog_articles - expected_articles),
            "vectors_missing": len(set(chunks) - set(stored)),
            "vectors_extra": len(set(stored) - set(chunks)),
            "vectors_stale": sum(1 for i, h in chunks.items() if i in stored and stored[i] != h),
            "bm25_differs": len(lexical ^ set(chunks)),
            "pending_left": len(index.catalog.pending()),
        }
    finally:
        index.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--batch-chunks", type=int, default=100)
    parser.add_argument("--churn", type=float, default=0.05, help="share of cards edited per run")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--data-dir", help="work here (default: a fresh temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    command = reproduce_command("bench.bench_crash")
    print(machine_line(), flush=True)
    print(f"reproduce: {command}", flush=True)
    rng = random.Random(args.seed)
    random.seed(args.seed)
    root = Path(args.data_dir or tempfile.mkdtemp(prefix="curator-crash-"))
    cards = root / "cards"
    cards.mkdir(parents=True, exist_ok=True)
    live = {i: 0 for i in range(args.cards)}
    for i in live:
        write_card(cards, i, 0, rng)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CURATOR_", "OPENAI_"))}
    env.update(
        CURATOR_DATA_DIR=str(root / "data"),
        CURATOR_EMBEDDINGS__PROVIDER="hash",
        CURATOR_KNOWLEDGE__SOURCES=str(cards),
        ANONYMIZED_TELEMETRY="False",
    )

    # The first full run, timed, bounds where a kill can land; it is killed too.
    started = time.monotonic()
    first = run_reindex(env, args.batch_chunks)
    full = time.monotonic() - started
    if first.returncode != 0:
        sys.exit(f"the first reindex failed: {first.stderr[-2000:]}")
    print(json.dumps({"full_reindex_s": round(full, 2), "cards": args.cards}), flush=True)

    from knowledge.store.vector_store import collection_name

    catalog = root / "data" / "index" / collection_name("curator", "hash-384") / "catalog.sqlite3"
    kills = 0
    rounds = []
    next_id = args.cards
    for n in range(args.kills):
        next_id = mutate(cards, live, next_id, rng, args.churn)
        outcome = kill_reindex(env, args.batch_chunks, TARGETS[n % 3], full, catalog)
        kills += outcome["killed"]
        rounds.append(outcome)
        print(json.dumps({"round": n + 1, **outcome}), flush=True)

    final = run_reindex(env, args.batch_chunks)
    if final.returncode != 0:
        sys.exit(f"the final reindex failed: {final.stderr[-2000:]}")
    report = json.loads(final.stdout)
    logged = [line for line in final.stderr.splitlines() if "repaired" in line]
    found = mismatches(env, cards)
    results = {
        "command": command,
        "machine": machine(),
        "cards": len(live),
        "kills": kills,
        "runs_that_finished_first": len(rounds) - kills,
        "kills_by_target": {
            t: sum(r["killed"] for r in rounds if r["target"] == t) for t in TARGETS
        },
        "final_report": {k: report[k] for k in ("added", "updated", "removed", "repaired")},
        "repairs": report["repaired"],
        "repair_log": logged[-3:],
        "mismatches": sum(found.values()),
        "mismatch_detail": found,
    }
    if args.json:
        args.json.write_text(json.dumps({**results, "rounds": rounds}, indent=2))
    print(json.dumps(results, indent=2))
    sys.exit(1 if results["mismatches"] else 0)


if __name__ == "__main__":
    main()
