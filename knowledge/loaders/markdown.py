"""Markdown cards: YAML front matter with the editorial fields, sections in the body."""

from __future__ import annotations

from pathlib import Path

import yaml
from frontmatter.default_handlers import YAMLHandler

from knowledge.errors import SourceError
from knowledge.loaders.card_export import card_export_batch, looks_like_card_export
from knowledge.loaders.fields import FieldError, common_fields
from knowledge.loaders.files import decode_utf8, read_limited
from knowledge.loaders.result import SourceBatch
from knowledge.loaders.sections import read_card_body
from knowledge.models import Article

_YAML = YAMLHandler()


class StrictYAMLLoader(yaml.SafeLoader):
    """Safe YAML that leaves timestamps as text and refuses aliases.

    Timestamps stay text so a bad date is reported by field name. Aliases (`*name`) are refused
    outright: a card has no use for them, and nested aliases expand a few hundred bytes into
    billions of values (the "billion laughs") as soon as anything walks or prints the result.
    """

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in front matter", event.start_mark
            )
        return super().compose_node(parent, index)


StrictYAMLLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),
)


def load_markdown(path: Path, max_bytes: int) -> SourceBatch:
    """The one card held by a Markdown file: front matter, or a card export's plain layout."""
    name = str(path)
    text = decode_utf8(read_limited(path, max_bytes), name)
    if not _YAML.detect(text.lstrip()) and looks_like_card_export(text):
        return card_export_batch(text, name)
    batch = SourceBatch()
    batch.add(name, parse_card(text, name))
    return batch


def parse_card(text: str, origin: str) -> Article:
    """Build an Article from a card's text; SourceError names what is wrong with it."""
    meta, content = _front_matter(text, origin)
    try:
        fields = common_fields(meta)
    except FieldError as exc:
        hint = "" if meta else " (no YAML front matter found between '---' lines)"
        raise SourceError(origin, f"{exc}{hint}") from None
    parts = read_card_body(content)
    return Article(
        **fields,
        summary=parts.summary,
        key_takeaway=parts.key_takeaway,
        key_insights=parts.key_insights,
        sections=parts.sections,
        body=parts.body,
        origin=origin,
    )


def _front_matter(text: str, origin: str) -> tuple[dict[str, object], str]:
    stripped = text.lstrip()
    skipped_lines = text[: len(text) - len(stripped)].count("\n")
    text = stripped.rstrip()
    if not _YAML.detect(text):
        return {}, text
    try:
        raw, content = _YAML.split(text)
    except ValueError:
        return {}, text
    try:
        meta = yaml.load(raw, Loader=StrictYAMLLoader)
    except yaml.YAMLError as exc:
        problem = _yaml_problem(exc, skipped_lines)
        raise SourceError(origin, f"broken YAML front matter: {problem}") from None
    except RecursionError:
        raise SourceError(origin, "broken YAML front matter: nested too deeply") from None
    if meta is None:
        return {}, content
    if not isinstance(meta, dict):
        raise SourceError(origin, "front matter must be a mapping of fields (key: value lines)")
    return {str(key): value for key, value in meta.items()}, content


def _yaml_problem(exc: yaml.YAMLError, skipped_lines: int) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # The parsed text starts right after the opening '---', so its line 0 is file line 1.
    offset = 1 + skipped_lines
    problem = f"{exc.problem} (line {exc.problem_mark.line + offset} of the file)"
    if exc.context and exc.context_mark is not None:
        problem += f", {exc.context} that starts on line {exc.context_mark.line + offset}"
    return problem
