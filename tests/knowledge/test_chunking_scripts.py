"""Chunks fit the embedder's window in every script, and markdown code fences stay whole."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from knowledge.chunking import ChunkingPolicy, chunk_article, split_sentences
from knowledge.embeddings.base import Embedder, Vectors
from knowledge.embeddings.hash import HashEmbedder
from knowledge.embeddings.onnx import DEFAULT_MODEL_DIR, load_tokenizer
from knowledge.embeddings.openai import OpenAIEmbedder
from knowledge.headings import split_sections
from knowledge.index import KnowledgeIndex
from knowledge.models import Article
from knowledge.tokens import estimate_tokens
from tests.knowledge.embeddings.openai_server import EmbeddingsServer
from tests.knowledge.embeddings.openai_server import start as start_embeddings_server
from tests.knowledge.embeddings.tiny_encoder import tokenizer as tiny_tokenizer
from tests.support.settings import make_settings

JAPANESE = [
    "検索拡張生成は、質問に答える前に関連する文書を探します。",
    "文書は小さな断片に分けられ、それぞれがベクトルに変換されます。",
    "断片が長すぎると、モデルは後半を読まずに捨ててしまいます。",
    "だから、文の区切りで分けることが大切です！",
    "日本語の文章には単語の間に空白がありません。",
    "本当にそれで十分でしょうか？",
]
CHINESE = [
    "向量检索把每一段文字转换成一个向量。",
    "如果一段文字太长，模型只会读取前面的部分。",
    "中文句子之间没有空格，所以需要按照句号来切分！",
    "这样每个片段都能完整地放进模型的窗口里吗？",
    "答案是肯定的，只要切分得当。",
]
THAI = [
    "การค้นหาข้อมูลด้วยเวกเตอร์ช่วยให้ระบบตอบคำถามได้ดีขึ้น",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    "ดังนั้นการแบ่งข้อความจึงต้องใช้วิธีอื่น",
]


def long_paragraph(sentences: list[str], repeat: int, sep: str = "") -> str:
    """One paragraph without a line break: `repeat` rounds of numbered sentences."""
    return sep.join(f"{s[:-1]}{i}{s[-1]}" for i in range(repeat) for s in sentences)


def article(title: str, body: str) -> Article:
    return Article(title=title, url=f"https://example.org/{abs(hash(title))}", body=body)


ARTICLES = {
    "japanese": article("日本語の記事", long_paragraph(JAPANESE, 40)),
    "chinese": article("中文文章", long_paragraph(CHINESE, 60)),
    # Thai runs sentences together with no mark at all: only a cut by tokens can split it.
    "thai": article("บทความภาษาไทย", long_paragraph(THAI, 60)),
    "thai-spaced": article("บทความภาษาไทย 2", long_paragraph(THAI, 60, sep=" ")),
    "base64": article("A key in base64", "The key:\n\n" + "QUJDRGVmZ2hpams0NTY3" * 600),
}


def minilm_counter() -> Callable[[str], int]:
    path = DEFAULT_MODEL_DIR / "tokenizer.json"
    if not path.exists():
        pytest.skip(f"the all-MiniLM-L6-v2 tokenizer is not in {DEFAULT_MODEL_DIR}")
    tokenizer = load_tokenizer(path, max_tokens=None)
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def tiny_counter() -> Callable[[str], int]:
    tokenizer = tiny_tokenizer()
    tokenizer.no_truncation()
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


COUNTERS: dict[str, Callable[[], Callable[[str], int]]] = {
    "minilm": minilm_counter,
    "tiny-wordpiece": tiny_counter,
    "estimate": lambda: estimate_tokens,
}


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("counter_name", sorted(COUNTERS))
@pytest.mark.parametrize("name", sorted(ARTICLES))
def test_every_record_fits_the_window_in_every_script(name: str, counter_name: str) -> None:
    count = COUNTERS[counter_name]()
    policy = ChunkingPolicy(target_tokens=400, overlap_tokens=0, count_tokens=count, max_tokens=128)
    source = ARTICLES[name]
    records = chunk_article(source, policy)
    if counter_name == "estimate":
        assert len(records) > 3, "text without spaces is split"
    for record in records:
        # The model reads the title prefix and the text, plus [CLS] and [SEP].
        assert count(record.embedding_text()) + 2 <= 128, (name, record.embedding_text()[:80])
    # Nothing is lost or repeated (no overlap asked for): only whitespace may move.
    assert squeeze("".join(r.text for r in records)) == squeeze(source.body)


def test_the_default_estimate_sees_text_without_spaces() -> None:
    # 2,000 ideographs are not "one word": the estimate must count each of them.
    assert estimate_tokens("向量" * 1000) >= 2000
    assert estimate_tokens("QUJD" * 2500) >= 2500
    # English prose stays at ~1.3 tokens per word, as before.
    assert 120 <= estimate_tokens(" ".join(["retrieval"] * 100)) <= 140


def test_hash_embedder_chunks_chinese_into_window_sized_pieces() -> None:
    embedder = HashEmbedder()
    policy = ChunkingPolicy(
        target_tokens=400, overlap_tokens=40, count_tokens=embedder.count_tokens
    )
    records = chunk_article(ARTICLES["chinese"], policy)
    # ~2,400 ideographs in one paragraph: split into several records of at most ~400 tokens.
    assert len(records) >= 5
    assert all(len(squeeze(r.text)) <= 400 for r in records)


def test_sentences_end_on_cjk_and_latin_marks() -> None:
    text = "検索は速い。本当ですか？はい！Then English follows. And more."
    assert split_sentences(text) == [
        "検索は速い。",
        "本当ですか？",
        "はい！",
        "Then English follows.",
        "And more.",
    ]
    assert split_sentences('He said "stop." Then he left.') == ['He said "stop."', "Then he left."]
    chinese = long_paragraph(CHINESE, 1)
    assert split_sentences(chinese) == [f"{s[:-1]}0{s[-1]}" for s in CHINESE]


FENCED = """Intro paragraph about shell setup.

## Install

Run the installer:

```bash
# Install the dependencies
pip install curator

# Then check it works
curator doctor
```

## Configure

~~~python
# Settings live in the environment
{long_code}
~~~

After the code, a closing paragraph.
"""


def fenced_article() -> Article:
    long_code = "\n".join(
        f"value_{i} = compute(value_{i - 1}, factor={i})  # step {i}\n" for i in range(1, 120)
    )
    return article("Setting up Curator", FENCED.replace("{long_code}", long_code))


def test_a_hash_inside_a_code_fence_is_not_a_heading() -> None:
    sections = [s for s in split_sections(fenced_article().body) if s.text]
    assert [s.heading for s in sections] == ["", "Install", "Configure"]
    assert "# Install the dependencies" in sections[1].text


def fence_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if re.match(r"^ {0,3}(```|~~~)", line)]


def test_code_fences_are_closed_and_reopened_in_every_record() -> None:
    count = tiny_counter()
    policy = ChunkingPolicy(
        target_tokens=120, overlap_tokens=20, count_tokens=count, max_tokens=128
    )
    source = fenced_article()
    records = chunk_article(source, policy)
    headings = {r.heading for r in records}
    assert headings == {"", "Install", "Configure"}
    code_records = [r for r in records if "compute(" in r.text]
    assert len(code_records) > 2, "the long block is split between several records"
    for record in records:
        fences = fence_lines(record.text)
        # Every opened fence is closed in the same record, with the same fence characters.
        assert len(fences) % 2 == 0, record.text
        for opener, closer in zip(fences[::2], fences[1::2], strict=True):
            assert closer == opener[:3] * (len(closer) // 3)
            assert opener.startswith(closer)
        assert count(record.embedding_text()) + 2 <= 128
    for record in code_records:
        assert record.text.count("~~~python") == 1
    # Every line of code is kept, in order.
    code = [line for r in code_records for line in r.text.split("\n") if "compute(" in line]
    expected = [line for line in source.body.split("\n") if "compute(" in line]
    assert code == expected


def test_an_unclosed_fence_is_closed_in_its_record() -> None:
    body = "Text before.\n\n```\n# not a heading\nprint('hi')\n"
    policy = ChunkingPolicy(target_tokens=100, overlap_tokens=0, count_tokens=estimate_tokens)
    records = chunk_article(article("Unclosed", body), policy)
    assert [r.heading for r in records] == [""]
    assert records[0].text.rstrip().endswith("```")
    assert len(fence_lines(records[0].text)) == 2


def test_byte_cap_bounds_every_input_whatever_the_estimate() -> None:
    # An embedder with no local tokenizer: a wildly wrong estimate must still not break the cap.
    policy = ChunkingPolicy(
        target_tokens=2000, overlap_tokens=40, count_tokens=lambda t: 1, max_bytes=1000
    )
    for source in ARTICLES.values():
        for record in chunk_article(source, policy):
            assert len(record.embedding_text().encode()) <= 1000


class _RemoteEmbedder(Embedder):
    """An embedder with no local tokenizer: only its default count_tokens is used."""

    name = "remote"
    dim = 1

    def embed(self, texts: Sequence[str]) -> Vectors:
        raise AssertionError("not called")


def test_embedders_without_a_tokenizer_count_every_script() -> None:
    assert _RemoteEmbedder().count_tokens(long_paragraph(JAPANESE, 10)) > 250


@pytest.fixture
def embeddings_server() -> Iterator[EmbeddingsServer]:
    """An OpenAI-compatible /v1/embeddings server on 127.0.0.1 that rejects inputs over 8,191."""
    state = EmbeddingsServer(max_input_tokens=8191)
    server = start_embeddings_server(state)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_an_8191_token_endpoint_accepts_every_input(
    embeddings_server: EmbeddingsServer, tmp_path: Path
) -> None:
    embedder = OpenAIEmbedder(
        "text-embedding-3-small", base_url=embeddings_server.base_url, max_retries=0
    )
    settings = make_settings(tmp_path / "data", embeddings={"provider": "openai"})
    index = KnowledgeIndex(settings, embedder=embedder)
    huge = {
        # One paragraph each, far over 8,191 tokens: the old chunker sent them whole.
        "chinese": article("长文", long_paragraph(CHINESE, 600)),
        "japanese": article("長い記事", long_paragraph(JAPANESE, 400)),
        "thai": article("ยาว", long_paragraph(THAI, 400)),
        "base64": article("Blob", "QUJDRGVmZ2hpams0NTY3" * 3000),
    }
    try:
        report = index.add_articles([*huge.values(), fenced_article()])
        assert report.added == 5
        assert index.stats()["articles"] == 5
    finally:
        index.close()
    inputs = [text for body in embeddings_server.requests for text in body["input"]]  # type: ignore[attr-defined]
    assert len(inputs) > 20
    assert max(len(text.encode()) for text in inputs) <= 8191


ROOT = Path(__file__).resolve().parents[2]
SEEDS = next(
    (
        p
        for p in (ROOT.parent / "shared" / "seeds", ROOT.parents[1] / "shared" / "seeds")
        if p.is_dir()
    ),
    None,
)


@pytest.mark.parametrize("counter_name", sorted(COUNTERS))
def test_the_seeded_article_fits_the_window_and_keeps_every_word(counter_name: str) -> None:
    if SEEDS is None:
        pytest.skip("../shared/seeds is absent: the seeded article is not in this checkout")
    text = (SEEDS / "article-evolving-role-of-the-ml-engineer.txt").read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    count = COUNTERS[counter_name]()
    policy = ChunkingPolicy(target_tokens=400, overlap_tokens=0, count_tokens=count, max_tokens=256)
    records = chunk_article(article(title.strip(), body), policy)
    assert len(records) >= 3
    for record in records:
        assert count(record.embedding_text()) + 2 <= 256
    assert squeeze("".join(r.text for r in records)) == squeeze(body)


def test_a_paragraph_marked_up_as_a_heading_keeps_every_prefix_short() -> None:
    long_heading = "# " + long_paragraph(CHINESE, 20)
    body = f"{long_heading}\n\n本节很短。"
    policy = ChunkingPolicy(target_tokens=400, overlap_tokens=0, count_tokens=estimate_tokens)
    records = chunk_article(article("标题", body), policy)
    assert all(len(r.heading) <= 120 for r in records)
    joined = squeeze("".join(r.text for r in records))
    assert squeeze(long_paragraph(CHINESE, 20)) in joined and "本节很短。" in joined
