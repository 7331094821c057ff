"""A tiny stand-in for all-MiniLM-L6-v2: a real ONNX graph and a real WordPiece tokenizer.

The graph maps each token to a fixed vector (Gather from a table), so a pooled embedding is
predictable: the mean of the table rows of the text's tokens. It is written as raw protobuf
because the `onnx` package is not a dependency; onnxruntime loads it like any model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

WORDS = [
    "the",
    "cat",
    "dog",
    "sat",
    "on",
    "mat",
    "attention",
    "is",
    "all",
    "you",
    "need",
    "transformer",
    "model",
    "index",
    "##ing",
    "##s",
    "search",
    "vector",
    ".",
    ",",
    "?",
]
VOCAB = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3} | {w: i + 4 for i, w in enumerate(WORDS)}
DIM = 8
# Fixed token vectors: row i is the "hidden state" of token id i.
TABLE = np.random.default_rng(1234).standard_normal((len(VOCAB), DIM)).astype(np.float32)

_FLOAT, _INT64 = 1, 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes_field(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _value_info(name: str, elem_type: int, dims: list[str | int]) -> bytes:
    # ValueInfoProto{name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{value=1|param=2}}}}}
    shape = b"".join(
        _bytes_field(1, _bytes_field(2, d) if isinstance(d, str) else _int_field(1, d))
        for d in dims
    )
    tensor_type = _int_field(1, elem_type) + _bytes_field(2, shape)
    return _bytes_field(1, name) + _bytes_field(2, _bytes_field(1, tensor_type))


def model_bytes(table: np.ndarray = TABLE, dim_param: bool = False) -> bytes:
    """ONNX ModelProto: last_hidden_state = Gather(table, input_ids); the mask inputs exist
    (as in MiniLM) but do not change the hidden states."""
    # TensorProto{dims=1, data_type=2, name=8, raw_data=9}
    initializer = b"".join(_int_field(1, d) for d in table.shape)
    initializer += _int_field(2, _FLOAT) + _bytes_field(8, "table")
    initializer += _bytes_field(9, table.astype("<f4").tobytes())
    # NodeProto{input=1, output=2, op_type=4}
    node = _bytes_field(1, "table") + _bytes_field(1, "input_ids")
    node += _bytes_field(2, "last_hidden_state") + _bytes_field(4, "Gather")
    # GraphProto{node=1, name=2, initializer=5, input=11, output=12}
    graph = _bytes_field(1, node) + _bytes_field(2, "tiny") + _bytes_field(5, initializer)
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        graph += _bytes_field(11, _value_info(name, _INT64, ["batch", "seq"]))
    width: str | int = "width" if dim_param else int(table.shape[1])
    graph += _bytes_field(12, _value_info("last_hidden_state", _FLOAT, ["batch", "seq", width]))
    # ModelProto{ir_version=1, graph=7, opset_import=8{domain=1, version=2}}
    return _int_field(1, 8) + _bytes_field(7, graph) + _bytes_field(8, _int_field(2, 17))


def tokenizer() -> Tokenizer:
    """A BERT-style uncased WordPiece tokenizer over VOCAB, like MiniLM's."""
    tok = Tokenizer(models.WordPiece(VOCAB, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", VOCAB["[CLS]"]), ("[SEP]", VOCAB["[SEP]"])],
    )
    return tok


def write_tiny_encoder(folder: Path, dim_param: bool = False) -> Path:
    """Write model.onnx and tokenizer.json into `folder`; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(model_bytes(dim_param=dim_param))
    tokenizer().save(str(folder / "tokenizer.json"))
    return folder


def expected_vector(text: str, max_tokens: int = 256) -> np.ndarray:
    """What the embedder must return for `text` with the tiny model: normalised token mean."""
    tok = tokenizer()
    tok.enable_truncation(max_length=max_tokens)
    mean = TABLE[tok.encode(text).ids].mean(axis=0)
    return mean / np.linalg.norm(mean)
