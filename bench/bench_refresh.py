"""A scheduled refresh of N unchanged articles from a feed and a folder: seconds and embeddings.

    .venv/bin/python -m bench.bench_refresh [--articles 1000] [--embedder hash|onnx] [--rounds 3]

Half the articles are Markdown cards in a folder, half are entries of one RSS feed served on
127.0.0.1 by a server that honours ETag / Last-Modified. The first refresh indexes everything;
the next `--rounds` refreshes find nothing changed: the feed answers 304 (no body, no parsing),
the cards are read and hashed, and nothing may be embedded. Then the feed gains one entry (only
its chunks are embedded), and a last round has the server ignore validators (a 200 with the
same feed), the worst case for an unchanged feed. Goal: an unchanged refresh under 5 s with zero
embeddings.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from html import escape
from pathlib import Path

from bench.measure import machine_line, reproduce_command
from bench.synthetic import CorpusSpec, SyntheticCorpus
from knowledge.embeddings.base import Vectors
from knowledge.index import KnowledgeIndex
from knowledge.models import Article
from knowledge.refresh import Refresher, RefreshOutcome
from knowledge.settings import load_settings
from knowledge.state import StateDB
from tests.support import cards
from tests.support.feed_server import FeedServer, running_feed_server

FEED = "/feed.xml"


def write_card(folder: Path, n: int, article: Article) -> None:
    """`article` as card `n` in the project's markdown card format (as the tests write it)."""
    cards.write_card(
        folder,
        f"card-{n:05d}",
        title=article.title,
        url=article.url,
        topics=tuple(article.topics),
        publisher=article.publisher,
        summary=article.summary,
        takeaway=article.key_takeaway,
        body=article.body,
    )


def feed_document(articles: Sequence[Article]) -> bytes:
    items = "".join(
        f"<item><title>{escape(a.title)}</title><link>{escape(a.url)}</link>"
        f"<pubDate>Tue, 04 Mar 2025 10:00:00 GMT</pubDate>"
        f"<description>{escape(a.body)}</description></item>"
        for a in articles
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Bench Journal</title><link>https://bench.example/</link>"
        f"<description>Articles</description>{items}</channel></rss>"
    ).encode()


class EmbedCounter:
    def __init__(self) -> None:
        self.texts = 0


def count_embeddings(index: KnowledgeIndex) -> EmbedCounter:
    counter = EmbedCounter()
    embedder = index.embedder
    real = embedder.embed

    def counting(texts: Sequence[str]) -> Vectors:
        counter.texts += len(texts)
        return real(texts)

    embedder.embed = counting  # type: ignore[method-assign]
    return counter


def timed(refresher: Refresher, counter: EmbedCounter) -> tuple[RefreshOutcome, float, int]:
    before = counter.texts
    start = time.perf_counter()
    outcome = refresher.run()
    seconds = time.perf_counter() - start
    if outcome.error or outcome.skipped:
        raise SystemExit(f"refresh did not complete: {outcome.summary()}")
    return outcome, seconds, counter.texts - before


def run(articles: int, embedder: str, rounds: int, server: FeedServer, root: Path) -> None:
    # One article more than asked for: the new feed entry of the last rounds.
    spec = CorpusSpec(chunks=(articles + 1) * 4, chunks_per_article=4, words_per_paragraph=150)
    corpus = SyntheticCorpus(spec)
    half = articles // 2
    folder = root / "cards"
    folder.mkdir()
    for n in range(half):
        write_card(folder, n, corpus[n])
    server.put(FEED, feed_document(corpus[half:articles]))
    feed_kb = len(server.documents[FEED].body) / 1024
    settings = load_settings(
        data_dir=root / "data",
        embeddings={"provider": embedder},
        knowledge={"sources": [str(folder), server.url(FEED)], "allow_private_urls": True},
    )
    index = KnowledgeIndex(settings)
    state = StateDB(settings.data_dir / "state.sqlite3")
    try:
        counter = count_embeddings(index)
        refresher = Refresher(index, state)
        first, first_s, first_embedded = timed(refresher, counter)
        print(
            f"articles: {half} cards in a folder + {articles - half} feed entries "
            f"(feed {feed_kb:.0f} KiB); embedder {index.embedder.name}"
        )
        print(
            f"first refresh (indexes all): {first_s:6.2f} s, {first.report.added} added, "
            f"{first_embedded} texts embedded"
        )
        times: list[float] = []
        for n in range(1, rounds + 1):
            outcome, seconds, embedded = timed(refresher, counter)
            times.append(seconds)
            status = server.statuses(FEED)[-1]
            print(
                f"unchanged refresh {n}:          {seconds:6.2f} s, {embedded} texts embedded, "
                f"{outcome.report.unchanged} unchanged, feed HTTP {status}"
            )
            if embedded or outcome.changed:
                raise SystemExit("an unchanged refresh changed the index")
        server.put(FEED, feed_document(corpus[half : articles + 1]))
        outcome, seconds, embedded = timed(refresher, counter)
        print(
            f"one new feed entry:           {seconds:6.2f} s, {embedded} texts embedded, "
            f"{outcome.report.added} added, {outcome.report.unchanged} unchanged, "
            f"feed HTTP {server.statuses(FEED)[-1]}"
        )
        doc = server.documents[FEED]
        doc.etag = doc.last_modified = False
        outcome, seconds, embedded = timed(refresher, counter)
        print(
            f"unchanged, no validators:     {seconds:6.2f} s, {embedded} texts embedded, "
            f"{outcome.report.unchanged} unchanged, feed HTTP {server.statuses(FEED)[-1]} "
            "(parsed and hashed)"
        )
        print(
            f"\nunchanged refresh: median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {rounds} rounds; goal < 5 s and 0 embeddings"
        )
    finally:
        index.close()
        state.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000, help="Articles in all (>= 2).")
    parser.add_argument("--embedder", choices=["hash", "onnx"], default="hash")
    parser.add_argument("--rounds", type=int, default=3, help="Unchanged refreshes timed.")
    args = parser.parse_args(argv)
    if args.articles < 2 or args.rounds < 1:
        parser.error("--articles must be at least 2 and --rounds at least 1")
    print(machine_line())
    print("reproduce: " + reproduce_command("bench.bench_refresh", argv))
    with tempfile.TemporaryDirectory() as tmp, running_feed_server() as server:
        run(args.articles, args.embedder, args.rounds, server, Path(tmp))


if __name__ == "__main__":
    main()
