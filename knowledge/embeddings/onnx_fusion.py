"""A fused copy of a BERT-style ONNX encoder: onnxruntime's Attention, BiasGelu and
EmbedLayerNorm kernels instead of the dozens of small ops a torch export spells out, and its
residual layer norms as a few float32 ops (faster than onnxruntime's SkipLayerNorm kernel; see
onnx_layer_norm).

The torch export of all-MiniLM-L6-v2 builds its attention mask from Where/IsNaN/And ops and
scales Q and K separately, shapes onnxruntime's fuser does not recognise. We rewrite those few
nodes into the classic BERT form (additive mask, one scaled QK product), let
`onnxruntime.transformers.optimizer` fuse, check the result against the plain model, and cache
it under a name keyed by the model's sha256 and the onnxruntime version. Building needs the
`onnx` and `sympy` packages; reading the cached file needs neither.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.embeddings.onnx_layer_norm import spell_out_skip_layer_norms

log = logging.getLogger(__name__)

#: Where fused models are kept, one file per (model, onnxruntime version).
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "curator" / "onnx-fused"
#: Bumped whenever the rewrite changes, so older cached files are not reused.
FUSION_VERSION = 2
#: Largest difference in hidden states the fused model may show against the plain one.
TOLERANCE = 1e-3
#: Stand-in for -inf on masked scores: exp() of it underflows to exactly 0 in float32.
MASK_FILTER_VALUE = -10000.0


class FusionError(RuntimeError):
    """The model cannot be fused (missing packages, unknown graph shape, or wrong results)."""


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fused_model_path(model_path: Path, cache_dir: Path) -> Path:
    """Where the fused copy of `model_path` lives (or will): keyed by content and runtime."""
    import onnxruntime

    key = f"{file_sha256(model_path)[:16]}-ort{onnxruntime.__version__}-v{FUSION_VERSION}"
    return cache_dir / f"{model_path.stem}-{key}.onnx"


def ensure_fused_model(model_path: Path, cache_dir: Path) -> Path:
    """The cached fused model for `model_path`, building and checking it on first use."""
    target = fused_model_path(model_path, cache_dir)
    if target.is_file() and target.stat().st_size > 0:
        return target
    fused = build_fused_model(model_path)
    check_same_outputs(model_path, fused)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a model.
    handle, temp_name = tempfile.mkstemp(dir=cache_dir, suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(fused)
        os.chmod(temp_name, 0o644)  # mkstemp makes it private; the model itself is not secret
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    log.info("fused %s into %s", model_path, target)
    return target


def build_fused_model(model_path: Path) -> bytes:
    """Serialized fused model; FusionError when it cannot be built or fuses no attention."""
    try:
        import onnx
        from onnxruntime.transformers import optimizer
    except ImportError as exc:
        raise FusionError(f"the onnx package is needed to fuse the model ({exc})") from exc
    try:
        model = onnx.load(str(model_path))
    except Exception as exc:  # onnx raises DecodeError and friends
        raise FusionError(f"{model_path} cannot be read by onnx: {exc}") from exc
    layers, num_heads, head_size = simplify_attention(model)
    # opt_level=0: only the Python fusions; onnxruntime applies its own when it loads the file.
    try:
        optimized = optimizer.optimize_model(
            model,
            model_type="bert",
            num_heads=num_heads,
            hidden_size=num_heads * head_size,
            opt_level=0,
        )
    except Exception as exc:  # the fuser raises whatever its helpers raise (ImportError for sympy)
        raise FusionError(f"onnxruntime's optimizer failed: {exc!r}") from exc
    fused = optimized.get_fused_operator_statistics().get("Attention", 0)
    if fused != layers:
        raise FusionError(f"only {fused} of {layers} attention layers fused")
    spell_out_skip_layer_norms(optimized.model)
    return bytes(optimized.model.SerializeToString())


def simplify_attention(model: Any) -> tuple[int, int, int]:
    """Rewrite each layer's masked, scaled attention into the form the fuser knows; returns
    the number of layers rewritten, heads and head width. FusionError when a layer does not
    have the expected shape.

    Per layer the export computes softmax((Q*s)(K*s) + Where(mask, 0, min)), then replaces NaN
    by 0. It becomes softmax((QK)/(1/s²) + (1 - mask)*-10000): the same weights, since both
    masked forms give exactly 0 after exp(), and no row is fully masked ([CLS] is always kept).
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    constants: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def parent(node: Any, index: int, op_type: str) -> Any:
        found = producer.get(node.input[index]) if index < len(node.input) else None
        if found is None or found.op_type != op_type:
            raise FusionError(f"{node.name or node.op_type}: input {index} is not a {op_type}")
        return found

    def scalar(name: str) -> float:
        value = constants.get(name)
        if value is None or value.size != 1:
            raise FusionError(f"{name} is not a constant scalar")
        return float(value.reshape(()))

    def rewire(old: str, new: str) -> None:
        for user in consumers.get(old, []):
            for i, name in enumerate(user.input):
                if name == old:
                    user.input[i] = new

    softmaxes = [node for node in graph.node if node.op_type == "Softmax"]
    if not softmaxes:
        raise FusionError("the graph has no attention (no Softmax)")
    dropped: set[int] = set()
    after: dict[str, list[Any]] = {}
    for layer, softmax in enumerate(softmaxes):
        add = parent(softmax, 0, "Add")
        matmul_qk = parent(add, 0, "MatMul")
        mask_where = parent(add, 1, "Where")
        scale_q, scale_k = parent(matmul_qk, 0, "Mul"), parent(matmul_qk, 1, "Mul")
        isnans = [u for u in consumers.get(softmax.output[0], []) if u.op_type == "IsNaN"]
        if len(isnans) != 1:
            raise FusionError(f"softmax {layer} is not followed by IsNaN")
        isnan = isnans[0]
        nan_where = consumers[isnan.output[0]][0]
        if nan_where.op_type != "Where":
            raise FusionError(f"softmax {layer}: IsNaN does not feed a Where")
        scale = scalar(scale_q.input[1]) * scalar(scale_k.input[1])
        if layer == 0:
            num_heads, head_size = read_head_shape(scale_q, producer, constants, scalar)
        matmul_qk.input[0], matmul_qk.input[1] = scale_q.input[0], scale_k.input[0]
        rewire(nan_where.output[0], softmax.output[0])
        # The fuser expects the V product to feed Transpose directly; the export reshapes
        # it to its own shape ([B, -1, L, head]) first, a no-op we drop.
        matmul_qkv = consumers[nan_where.output[0]][0]
        for user in list(consumers.get(matmul_qkv.output[0], [])):
            if user.op_type == "Reshape":
                rewire(user.output[0], matmul_qkv.output[0])
                dropped.add(id(user))
        divisor = f"curator_fusion/layer{layer}/divisor"
        scaled = f"curator_fusion/layer{layer}/scaled_scores"
        # Division, not multiplication: the fuser's BERT pattern reads Add <- Div <- MatMul,
        # and a second Mul beside the mask's Mul would be mistaken for it.
        after[matmul_qk.output[0]] = [
            helper.make_node(
                "Constant",
                [],
                [divisor],
                value=numpy_helper.from_array(np.array(1.0 / scale, dtype=np.float32)),
            ),
            helper.make_node("Div", [matmul_qk.output[0], divisor], [scaled]),
        ]
        add.input[0], add.input[1] = scaled, "curator_fusion/additive_mask"
        dropped |= {id(isnan), id(nan_where), id(scale_q), id(scale_k), id(mask_where)}

    def const(name: str, value: np.ndarray) -> Any:
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value))

    prefix = "curator_fusion/"
    mask_nodes = [
        const(prefix + "axis1", np.array([1], dtype=np.int64)),
        const(prefix + "axis2", np.array([2], dtype=np.int64)),
        const(prefix + "one", np.array(1.0, dtype=np.float32)),
        const(prefix + "filter", np.array(MASK_FILTER_VALUE, dtype=np.float32)),
        helper.make_node("Unsqueeze", ["attention_mask", prefix + "axis1"], [prefix + "mask1"]),
        helper.make_node("Unsqueeze", [prefix + "mask1", prefix + "axis2"], [prefix + "mask2"]),
        helper.make_node("Cast", [prefix + "mask2"], [prefix + "maskf"], to=TensorProto.FLOAT),
        helper.make_node("Sub", [prefix + "one", prefix + "maskf"], [prefix + "masked"]),
        helper.make_node("Mul", [prefix + "masked", prefix + "filter"], [prefix + "additive_mask"]),
    ]
    # Rebuild the node list in topological order: the mask first, each Div after its MatMul.
    kept = [node for node in graph.node if id(node) not in dropped]
    graph.ClearField("node")
    graph.node.extend(mask_nodes)
    for node in kept:
        graph.node.append(node)
        graph.node.extend(after.get(node.output[0], []) if node.output else [])
    return len(softmaxes), num_heads, head_size


def read_head_shape(
    scale_q: Any, producer: dict[str, Any], constants: dict[str, np.ndarray], scalar: Any
) -> tuple[int, int]:
    """Heads and head width of a layer, which the fuser needs: Q is reshaped to
    [batch, length, -1, head width], and its projection weight is [hidden, hidden]."""
    transpose = producer.get(scale_q.input[0])
    reshape = producer.get(transpose.input[0]) if transpose is not None else None
    concat = producer.get(reshape.input[1]) if reshape is not None else None
    if reshape is None or concat is None or concat.op_type != "Concat" or len(concat.input) != 4:
        raise FusionError("cannot find how Q is split into heads")
    head_size = int(scalar(concat.input[3]))
    weights = [
        constants[name]
        for node in (producer.get(name) for name in producer[reshape.input[0]].input)
        if node is not None and node.op_type == "MatMul"
        for name in node.input
        if name in constants and constants[name].ndim == 2
    ]
    if head_size < 1 or len(weights) != 1 or weights[0].shape[1] % head_size:
        raise FusionError("cannot read the number of heads and the head width")
    return weights[0].shape[1] // head_size, head_size


def check_same_outputs(model_path: Path, fused: bytes) -> None:
    """Run both models on a padded probe batch; FusionError if their hidden states differ."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        plain = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        quick = ort.InferenceSession(
            fused, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's own exception types
        raise FusionError(f"the fused model does not load: {exc}") from exc
    rng = np.random.default_rng(0)
    input_ids = rng.integers(1000, 2000, size=(2, 24), dtype=np.int64)
    mask = np.ones_like(input_ids)
    mask[1, 9:] = 0  # a padded row, to check the rewritten mask
    feed = {"input_ids": input_ids, "attention_mask": mask}
    names = {node.name for node in plain.get_inputs()}
    if "token_type_ids" in names:
        feed["token_type_ids"] = np.zeros_like(input_ids)
    expected = plain.run(None, feed)[0]
    got = quick.run(None, feed)[0]
    # Padded positions carry no meaning (mean pooling drops them): compare kept tokens only.
    keep = mask.astype(bool)
    difference = float(np.abs(expected[keep] - got[keep]).max())
    if not difference <= TOLERANCE:
        raise FusionError(f"the fused model differs from the plain one by {difference:.2e}")
