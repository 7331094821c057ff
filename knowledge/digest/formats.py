"""Digest -> Markdown, plain text and the JSON of `curator digest --format json`."""

from __future__ import annotations

from datetime import datetime

from knowledge.digest.contents import Digest, DigestEntry
from knowledge.digest.template import human_date

_HARD_BREAK = "  \n"


def digest_title(digest: Digest) -> str:
    """'Daily digest — 23 Nov 2026', or the range for a --since/--until digest."""
    if digest.daily:
        return f"Daily digest — {human_date(digest.date)}"
    first = digest.start.date()
    last = digest.date
    if first == last:
        return f"Digest — {human_date(last)}"
    return f"Digest — {human_date(first)} to {human_date(last)}"


def _clock(moment: datetime) -> str:
    return f"{human_date(moment.date())} {moment:%H:%M}"


def window_line(digest: Digest) -> str:
    """The window in words: 'Curated 22 Nov 2026 09:00 – 23 Nov 2026 09:00 (Europe/Berlin)'."""
    if not digest.daily:
        # A range is whole days; its exclusive end (midnight after the last day) would mislead.
        first, last = human_date(digest.start.date()), human_date(digest.date)
        days = first if first == last else f"{first} – {last}"
        return f"Curated {days}, whole days ({digest.timezone})"
    return f"Curated {_clock(digest.start)} – {_clock(digest.end)} ({digest.timezone})"


def markdown_link_target(url: str) -> str:
    """A URL that cannot end a Markdown link early."""
    return url.strip().replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def markdown_link_text(text: str) -> str:
    """Link text with the characters that would break `[text](url)` escaped."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def entry_marker(digest: Digest, entry: DigestEntry) -> str:
    """'[3] ' before an article when the intro cites by number, so readers can follow [3]."""
    return f"[{entry.n}] " if digest.citations else ""


def render_markdown(digest: Digest) -> str:
    """A Markdown document: title, intro, a section per topic, the window."""
    lines = [f"# {digest_title(digest)}", "", digest.intro, ""]
    for section in digest.sections:
        lines += [f"## {section.topic}", ""]
        for entry in section.articles:
            label = markdown_link_text(entry.title)
            # An article without a URL is named, never linked: no empty or made-up link.
            link = f"[{label}]({markdown_link_target(entry.url)})" if entry.url else label
            head = f"- {entry_marker(digest, entry)}**{link}**"
            if entry.publisher:
                head += f" — {entry.publisher}"
            item = [head]
            if entry.takeaway:
                item.append(f"  {entry.takeaway}")
            if entry.best_for:
                item.append(f"  *Best for:* {', '.join(entry.best_for)}")
            # Two trailing spaces are Markdown's hard line break: one line each, one list item.
            lines.append(_HARD_BREAK.join(item))
        lines.append("")
    lines.append(f"_{window_line(digest)}_")
    return "\n".join(lines) + "\n"


def render_text(digest: Digest) -> str:
    """Plain text for terminals and e-mail: no markup, URLs spelled out."""
    title = digest_title(digest)
    lines = [title, "=" * len(title), window_line(digest), "", digest.intro]
    for section in digest.sections:
        lines += ["", section.topic, "-" * len(section.topic)]
        for entry in section.articles:
            head = f"[{entry.n}] {entry.title}"
            if entry.publisher:
                head += f" — {entry.publisher}"
            lines.append(head)
            if entry.takeaway:
                lines.append(f"    {entry.takeaway}")
            if entry.best_for:
                lines.append(f"    Best for: {', '.join(entry.best_for)}")
            if entry.url:
                lines.append(f"    {entry.url}")
    return "\n".join(lines) + "\n"


def digest_to_json(digest: Digest) -> dict[str, object]:
    """The stable JSON shape: date, window, intro, sections of articles, article_count."""
    return {
        "date": digest.date.isoformat(),
        "window": {"start": digest.start.isoformat(), "end": digest.end.isoformat()},
        "intro": digest.intro,
        "sections": [
            {
                "topic": section.topic,
                "articles": [
                    {
                        "title": entry.title,
                        "url": entry.url,
                        "publisher": entry.publisher,
                        "key_takeaway": entry.takeaway,
                        "best_for": list(entry.best_for),
                    }
                    for entry in section.articles
                ],
            }
            for section in digest.sections
        ],
        "article_count": digest.article_count,
    }
