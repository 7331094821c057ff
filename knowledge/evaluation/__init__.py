"""Retrieval evaluation: SQuAD-format corpora, metrics, and a runner over KnowledgeIndex."""

from knowledge.evaluation.runner import MODES, EvalReport, ModeResult, run_eval
from knowledge.evaluation.squad import EvalCorpus, EvalQuestion, load_squad, parse_squad

__all__ = [
    "MODES",
    "EvalCorpus",
    "EvalQuestion",
    "EvalReport",
    "ModeResult",
    "load_squad",
    "parse_squad",
    "run_eval",
]
