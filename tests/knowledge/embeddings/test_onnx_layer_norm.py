from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from knowledge.embeddings.onnx_layer_norm import spell_out_skip_layer_norms

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

WIDTH = 48
RNG = np.random.default_rng(3)
GAMMA = RNG.uniform(0.5, 1.5, WIDTH).astype(np.float32)
BETA = RNG.normal(0, 0.1, WIDTH).astype(np.float32)
BIAS = RNG.normal(0, 0.1, WIDTH).astype(np.float32)


def skip_layer_norm_model(
    opset: int, with_beta: bool = True, with_bias: bool = True, extra_outputs: tuple[int, ...] = ()
) -> Any:
    """x, skip -> SkipLayerNormalization -> out (plus the named extra outputs, doubled)."""
    inputs = (
        ["x", "skip", "gamma"] + (["beta"] if with_beta else [""]) + (["bias"] if with_bias else [])
    )
    outputs = ["out", "mean", "inv_std", "sum"]
    nodes = [
        helper.make_node(
            "SkipLayerNormalization",
            inputs if with_bias or with_beta else inputs[:3],
            outputs[: 1 + max(extra_outputs, default=0)],
            domain="com.microsoft",
            epsilon=1e-12,
        )
    ]
    graph_outputs = [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)]
    for index in extra_outputs:
        nodes.append(helper.make_node("Add", [outputs[index], outputs[index]], [f"twice{index}"]))
        twice = helper.make_tensor_value_info(f"twice{index}", TensorProto.FLOAT, None)
        graph_outputs.append(twice)
    constants = [numpy_helper.from_array(GAMMA, "gamma")]
    constants += [numpy_helper.from_array(BETA, "beta")] if with_beta else []
    constants += [numpy_helper.from_array(BIAS, "bias")] if with_bias else []
    graph = helper.make_graph(
        nodes,
        "skip_layer_norm",
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 5, WIDTH])
            for name in ("x", "skip")
        ],
        graph_outputs,
        constants,
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)],
    )


def run(model: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return list(session.run(None, feed))


def feed() -> dict[str, np.ndarray]:
    # Rows far from zero mean, where float32 accumulation would show its error first.
    return {
        "x": RNG.normal(40.0, 3.0, (2, 5, WIDTH)).astype(np.float32),
        "skip": RNG.normal(-5.0, 2.0, (2, 5, WIDTH)).astype(np.float32),
    }


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize(
    ("with_beta", "with_bias"), [(True, True), (True, False), (False, True), (False, False)]
)
def test_spelled_out_layer_norm_gives_the_fused_kernels_results(
    opset: int, with_beta: bool, with_bias: bool
) -> None:
    model = skip_layer_norm_model(opset, with_beta, with_bias)
    inputs = feed()
    expected = run(model, inputs)
    assert spell_out_skip_layer_norms(model) == 1
    assert "SkipLayerNormalization" not in {node.op_type for node in model.graph.node}
    got = run(model, inputs)
    np.testing.assert_allclose(got[0], expected[0], atol=2e-5)
    # And both are the textbook layer norm of x + bias + skip.
    total = inputs["x"] + inputs["skip"] + (BIAS if with_bias else 0)
    centred = total - total.mean(axis=-1, keepdims=True)
    normalised = centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(got[0], normalised * GAMMA + (BETA if with_beta else 0), atol=2e-5)


def test_the_sum_output_stays_available_to_the_nodes_that_read_it() -> None:
    model = skip_layer_norm_model(13, extra_outputs=(3,))
    inputs = feed()
    expected = run(model, inputs)
    assert spell_out_skip_layer_norms(model) == 1
    got = run(model, inputs)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-6)
    np.testing.assert_allclose(got[0], expected[0], atol=2e-5)


def test_a_layer_norm_whose_statistics_are_read_is_left_alone() -> None:
    model = skip_layer_norm_model(13, extra_outputs=(1,))
    before = model.SerializeToString()
    assert spell_out_skip_layer_norms(model) == 0
    assert model.SerializeToString() == before
