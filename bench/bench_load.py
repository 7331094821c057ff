"""Load: many questions at once through the answer path the bot uses, and memory over a soak.

Each question goes through the bot's fair-use limiter (bot/discord/limits.py AnswerSlots:
`max_concurrent` answers at once, `max_queue` waiting, the rest turned away with "try again")
and then AnswerService.stream over the sample articles (hash embedder, in-process Chroma),
with the local fake OpenAI server (tests/support/fake_openai.py, in its own process) answering
every chat request after `--latency` seconds. Latency is measured from the question's arrival
to its final Answer, queue wait included.

    .venv/bin/python -m bench.bench_load                              # bursts + 600 s soak
    .venv/bin/python -m bench.bench_load --soak-seconds 60 --json out.json

Bursts: `--bursts` questions arrive at the same instant, once with the bot's defaults
(CURATOR_DISCORD__MAX_CONCURRENT / MAX_QUEUE) and once with a queue long enough for all of them.
Soak: `--soak-clients` members ask one question after another for `--soak-seconds`; the RSS of
this process is sampled every `--sample-seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import ROOT, current_rss_mib, machine, percentile, reproduce_command
from bot.discord.limits import AnswerSlots, RateLimitedError
from knowledge.answers.service import AnswerService
from knowledge.index import KnowledgeIndex
from knowledge.models import Answer
from knowledge.settings import Settings, load_settings

SAMPLE_DIR = ROOT / "knowledge" / "sample"
QUESTIONS_FILE = ROOT / "bench" / "data" / "sample_questions.tsv"
REPLY = (
    "The curated article explains this directly [1]. A second source adds a detail [2]. "
    "In short, both agree on the main point [1][2]."
)
# The fake server runs in a child process so its request log does not count in our memory.
FAKE_SERVER = """
import sys, time
from tests.support.fake_openai import FakeOpenAI, Reply
server = FakeOpenAI().start()
server.always(lambda request: (server.requests.clear(), Reply({reply!r}, delay={delay}))[1])
print(server.base_url, flush=True)
sys.stdin.read()
server.stop()
"""


def answerable_questions() -> list[str]:
    rows = []
    for line in QUESTIONS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, question = line.split("\t", 1)
            if kind == "ans":
                rows.append(question)
    return rows


@dataclass
class BurstResult:
    questions: int
    max_concurrent: int
    max_queue: int
    answered: int = 0
    turned_away: int = 0
    errors: int = 0
    llm_answers: int = 0
    max_admitted: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("latencies_ms")
        data["p50_ms"] = round(percentile(self.latencies_ms, 50), 1)
        data["p95_ms"] = round(percentile(self.latencies_ms, 95), 1)
        data["max_ms"] = round(max(self.latencies_ms, default=float("nan")), 1)
        data["answers_per_s"] = round(self.answered / self.wall_s, 1) if self.wall_s else 0.0
        return data


async def ask_once(
    service: AnswerService, slots: AnswerSlots, question: str, result: BurstResult
) -> None:
    """One member's question: through the limiter, then the streamed answer to its end."""
    started = time.perf_counter()
    try:
        async with slots.slot() as ticket:
            result.max_admitted = max(result.max_admitted, slots.admitted)
            await ticket.ready()
            final: Answer | None = None
            async for item in service.stream(question):
                if isinstance(item, Answer):
                    final = item
    except RateLimitedError:
        result.turned_away += 1
        return
    except Exception as exc:  # counted and shown: the run must report zero
        result.errors += 1
        if len(result.error_samples) < 5:
            result.error_samples.append(f"{type(exc).__name__}: {exc}")
        return
    assert final is not None
    result.answered += 1
    result.llm_answers += final.mode == "llm"
    result.latencies_ms.append((time.perf_counter() - started) * 1000)


async def burst(
    service: AnswerService, questions: Sequence[str], n: int, max_concurrent: int, max_queue: int
) -> BurstResult:
    """`n` questions arriving at once."""
    slots = AnswerSlots(max_concurrent, max_queue)
    result = BurstResult(questions=n, max_concurrent=max_concurrent, max_queue=max_queue)
    started = time.perf_counter()
    await asyncio.gather(
        *(ask_once(service, slots, questions[i % len(questions)], result) for i in range(n))
    )
    result.wall_s = round(time.perf_counter() - started, 2)
    assert result.max_admitted <= max_concurrent + max_queue
    return result


async def soak(
    service: AnswerService,
    questions: Sequence[str],
    settings: Settings,
    seconds: float,
    clients: int,
    sample_every: float,
) -> dict[str, Any]:
    """`clients` members asking back to back for `seconds`; RSS sampled as it runs."""
    d = settings.discord
    slots = AnswerSlots(d.max_concurrent, d.max_queue)
    result = BurstResult(questions=0, max_concurrent=d.max_concurrent, max_queue=d.max_queue)
    deadline = time.monotonic() + seconds
    samples: list[tuple[float, float]] = []
    started = time.monotonic()

    async def member(k: int) -> None:
        i = k
        while time.monotonic() < deadline:
            await ask_once(service, slots, questions[i % len(questions)], result)
            result.questions += 1
            i += clients

    async def sampler() -> None:
        while time.monotonic() < deadline:
            samples.append((round(time.monotonic() - started, 1), round(current_rss_mib(), 1)))
            await asyncio.sleep(sample_every)
        samples.append((round(time.monotonic() - started, 1), round(current_rss_mib(), 1)))

    await asyncio.gather(sampler(), *(member(k) for k in range(clients)))
    result.wall_s = round(time.monotonic() - started, 1)
    # The first tenth is warm-up (caches, connection pools); the trend is measured after it.
    steady = [s for s in samples if s[0] >= seconds * 0.1] or samples
    xs = [t for t, _ in steady]
    ys = [m for _, m in steady]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    slope = (
        sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var if var else 0
    )
    return {
        **result.summary(),
        "clients": clients,
        "rss_start_mib": steady[0][1],
        "rss_end_mib": steady[-1][1],
        "rss_max_mib": max(ys),
        "rss_slope_mib_per_min": round(slope * 60, 2),
        "rss_samples": samples,
    }


def start_fake_llm(latency: float) -> tuple[subprocess.Popen[str], str]:
    script = FAKE_SERVER.format(reply=REPLY, delay=latency)
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http"):
        process.kill()
        raise SystemExit("the fake OpenAI server did not start")
    return process, base_url


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.data_dir:
        return await run_in(Path(args.data_dir), args)
    with tempfile.TemporaryDirectory(prefix="curator-load-") as scratch:
        return await run_in(Path(scratch), args)


async def run_in(data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    fake, base_url = start_fake_llm(args.latency)
    try:
        settings = load_settings(
            data_dir=data_dir,
            embeddings={"provider": args.embedder},
            knowledge={"sources": [str(SAMPLE_DIR)]},
            llm={"base_url": base_url, "timeout": args.llm_timeout, "retries": 0},
        )
        index = KnowledgeIndex(settings)
        index.reindex()
        service = AnswerService(settings, index)
        questions = answerable_questions()
        # Warm-up: model, Chroma and the HTTP pool are loaded before anything is timed.
        await burst(service, questions, 8, 8, 0)
        d = settings.discord
        bursts = []
        for n in args.bursts:
            # The bot's defaults; a queue long enough for everyone; and more answers at once,
            # for an LLM endpoint that serves requests in parallel.
            shapes = [(d.max_concurrent, d.max_queue), (d.max_concurrent, n)]
            shapes += [(c, n) for c in args.wider if c != d.max_concurrent]
            for max_concurrent, max_queue in shapes:
                result = await burst(service, questions, n, max_concurrent, max_queue)
                bursts.append(result.summary())
                print(json.dumps(bursts[-1]), flush=True)
        soaked = None
        if args.soak_seconds > 0:
            soaked = await soak(
                service,
                questions,
                settings,
                args.soak_seconds,
                args.soak_clients,
                args.sample_seconds,
            )
            shown = {k: v for k, v in soaked.items() if k != "rss_samples"}
            print(json.dumps(shown), flush=True)
        await service.aclose()
        index.close()
    finally:
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(timeout=30)
    return {
        "machine": machine(),
        "latency_s": args.latency,
        "embedder": args.embedder,
        "bursts": bursts,
        "soak": soaked,
        "errors": sum(int(b["errors"]) for b in bursts) + (int(soaked["errors"]) if soaked else 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bursts", type=int, nargs="+", default=[50, 200])
    parser.add_argument(
        "--wider", type=int, nargs="*", default=[16], help="also burst with these max_concurrent"
    )
    parser.add_argument("--latency", type=float, default=0.3, help="LLM seconds per answer")
    parser.add_argument("--llm-timeout", type=float, default=30.0)
    parser.add_argument("--soak-seconds", type=float, default=600)
    parser.add_argument("--soak-clients", type=int, default=16)
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--embedder", default="hash", choices=["hash", "auto", "onnx"])
    parser.add_argument("--data-dir", help="index here (default: a fresh temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    failed = int(results["errors"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(f"errors: {failed}")
    print("reproduce: " + reproduce_command("bench.bench_load"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
