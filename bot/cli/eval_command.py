"""`curator eval FILE`: retrieval (or, with --answers, answer) quality and latency on a
SQuAD-format question set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from bot.cli.common import console, print_json, services_or_exit
from bot.cli.index_commands import progress_bar
from knowledge.evaluation import MODES, EvalReport, load_squad, run_eval
from knowledge.evaluation.answer_quality import AnswerEvalReport, run_answer_eval
from knowledge.evaluation.runner import CUTOFFS
from knowledge.index import SearchMode

_MODE_CHOICES = (*MODES, "all")


def parse_modes(value: str) -> list[SearchMode]:
    """`all` or one mode name, as the list of modes to run."""
    name = value.strip().casefold()
    if name not in _MODE_CHOICES:
        raise typer.BadParameter(
            f"expected {', '.join(_MODE_CHOICES)}; got {value!r}", param_hint="--mode"
        )
    return list(MODES) if name == "all" else [name]  # type: ignore[list-item]


def _figures_table(title: str, caption: str) -> Table:
    # Both reports print as a compact figures table: tight columns, the legend underneath.
    return Table(
        title=title, caption=caption, box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1), pad_edge=False
    )


def report_table(report: EvalReport, dataset: str) -> Table:
    """One row per mode: article and answer hits@1/5/10, MRR@10, latency percentiles."""
    table = _figures_table(
        f"Retrieval on {dataset}",
        f"{report.embedder} · {report.chunks} chunks · {report.articles} articles · "
        f"{report.questions} questions · k={report.k} · per_article={report.per_article}\n"
        "art@n: a chunk of the gold article in the top n · "
        "ans@n: a chunk holding a gold answer in the top n · latency in ms",
    )
    table.add_column("mode", no_wrap=True)
    for what in ("art", "ans"):
        for k in CUTOFFS:
            table.add_column(f"{what}@{k}", justify="right")
    table.add_column("MRR@10", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    for name, result in report.modes.items():
        table.add_row(
            name,
            *(f"{result.article_hits[k]:.3f}" for k in CUTOFFS),
            *(f"{result.answer_hits[k]:.3f}" for k in CUTOFFS),
            f"{result.mrr10:.3f}",
            f"{result.latency_p50_ms:.1f}",
            f"{result.latency_p95_ms:.1f}",
        )
    return table


def answers_table(report: AnswerEvalReport, dataset: str) -> Table:
    """One row per answer mode: gold answer found, faults, refusals, latency percentiles."""
    table = _figures_table(
        f"Answers on {dataset}",
        f"{report.embedder} · {report.chunks} chunks · {report.articles} articles · "
        f"{report.questions} questions\n"
        "in text: a gold answer in the answer · in cited: in a cited passage · "
        "twice: answers listing an article twice · dangling: markers citing nothing listed · "
        "latency of the whole answer in ms",
    )
    for name in ("mode", "in text", "in cited", "twice", "dangling", "refused", "p50", "p95"):
        table.add_column(name, justify="left" if name == "mode" else "right", no_wrap=True)
    for name, result in report.modes.items():
        table.add_row(
            name,
            f"{result.gold_in_text:.3f}",
            f"{result.gold_in_cited:.3f}",
            str(result.articles_listed_twice),
            str(result.dangling_markers),
            str(result.refusals),
            f"{result.latency_p50_ms:.1f}",
            f"{result.latency_p95_ms:.1f}",
        )
    return table


def eval_command(
    file: Annotated[Path, typer.Argument(help="A SQuAD-format JSON file (v1.1 shape).")],
    k: Annotated[
        int, typer.Option("-k", min=1, max=100, help="Chunks retrieved per question.")
    ] = 10,
    mode: Annotated[str, typer.Option(help="bm25, dense, hybrid or all.")] = "all",
    per_article: Annotated[
        int | None,
        typer.Option(
            "--per-article",
            min=0,
            help="Most chunks one article may fill (0: no limit; default: the configured value).",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Ask only N questions, spread evenly over the file."),
    ] = None,
    titles: Annotated[
        int | None,
        typer.Option(min=1, help="Index only the first N titles (and ask only their questions)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    answers: Annotated[
        bool,
        typer.Option(
            "--answers",
            help="Score whole answers through AnswerService (extractive, and LLM when "
            "configured) instead of search alone.",
        ),
    ] = False,
) -> None:
    """Build a throwaway index from FILE and score every question through the bot's search."""
    modes = parse_modes(mode)
    with services_or_exit() as services:
        corpus = load_squad(file, max_titles=titles)
        if answers:
            with progress_bar(not as_json) as progress:
                answer_report = run_answer_eval(
                    corpus, services.settings, limit=limit, progress=progress
                )
            if as_json:
                print_json(answer_report.as_json())
            else:
                console.print(answers_table(answer_report, file.name))
            return
        with progress_bar(not as_json) as progress:
            report = run_eval(
                corpus,
                services.settings,
                modes=modes,
                k=k,
                per_article=per_article,
                limit=limit,
                progress=progress,
            )
    if as_json:
        print_json(report.as_json())
    else:
        console.print(report_table(report, file.name))


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
