"""Citations and digest entries without a URL: 'title — publisher', never an empty link."""

from __future__ import annotations

from bot.discord.digest_render import render_entry
from bot.discord.render import render_answer, source_line
from knowledge.digest.contents import DigestEntry
from knowledge.models import Answer, Citation

TITLE = "The Evolving Role of the ML Engineer"


def _citation(url: str = "") -> Citation:
    return Citation(
        n=1,
        title=TITLE,
        url=url,
        publisher="Towards Data Science",
        article_id="a1",
        chunk_id="a1-0001",
        passage="I think this is a bubble.",
    )


def test_a_citation_without_a_url_names_title_and_publisher() -> None:
    assert source_line(_citation()) == f"**[1]** {TITLE} — Towards Data Science"


def test_an_answer_embed_has_no_empty_or_fake_link() -> None:
    answer = Answer(text="It is a bubble, she says [1].", citations=[_citation()], mode="llm")
    messages = render_answer(answer)
    shown = " ".join(
        (embed.description or "") + " ".join(str(f.value) for f in embed.fields)
        for message in messages
        for embed in message.embeds
    )
    assert f"{TITLE} — Towards Data Science" in shown
    assert "]()" not in shown and "](http" not in shown and "](<" not in shown


def test_a_digest_entry_without_a_url_is_named_not_linked() -> None:
    entry = DigestEntry(n=2, title=TITLE, url="", publisher="Towards Data Science")
    assert render_entry(entry, numbered=True).splitlines()[0] == (
        f"**[2]** **{TITLE}** — Towards Data Science"
    )
