"""Each stage of chainrule.compiler.plan on its own, on small graphs built by hand."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule.autograd import topological_order
from chainrule.compiler.activation_kernels import ReLUKernel, TanhKernel
from chainrule.compiler.kernel import GenericKernel
from chainrule.compiler.kernels import (
    CrossEntropyKernel,
    CrossEntropyReplay,
    LinearKernel,
    MulticlassHingeReplay,
)
from chainrule.compiler.plan import (
    CONST,
    INPUT,
    LEAF,
    NODE,
    CompileError,
    Plan,
    allocate_grad_buffers,
    build_kernels,
    build_plan,
    build_routes,
    choose_layouts,
    mark_gradients,
    pack_parameters,
    resolve_sources,
    select_kernels,
)


def _param(*shape: int, seed: int = 0) -> cr.Tensor:
    rng = np.random.default_rng(seed)
    return cr.nn.Parameter(rng.standard_normal(shape))


def _inputs(n: int, d: int, c: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal((n, d)), rng.integers(0, c, n)]


def _plan(fn: object, arrays: list[np.ndarray]) -> Plan:
    """Trace ``fn`` as a compiled step does: floating inputs recorded, labels not."""
    traced = [cr.tensor(a, dtype=a.dtype.name, requires_grad=True) if a.dtype.kind == "f"
              else cr.Tensor(a) for a in arrays]
    result = fn(*traced)
    loss, outputs = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
    return Plan(topological_order([loss]), arrays, traced, tuple(outputs))


def _mlp_loss(w1: cr.Tensor, b1: cr.Tensor, w2: cr.Tensor, b2: cr.Tensor) -> object:
    return lambda x, y: F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), y)


def _mlp_plan(n: int = 4) -> tuple[Plan, list[cr.Tensor]]:
    params = [_param(5, 3), _param(5, seed=1), _param(2, 5, seed=2), _param(2, seed=3)]
    return _plan(_mlp_loss(*params), _inputs(n, 3, 2)), params


def _through(plan: Plan, last: object) -> Plan:
    """Run the stages in order up to and including ``last``."""
    stages = [resolve_sources, mark_gradients, select_kernels, choose_layouts,
              lambda p: pack_parameters(p, None), build_kernels, build_routes,
              allocate_grad_buffers]
    for stage in stages:
        stage(plan)
        if stage is last:
            break
    return plan


# ------------------------------------------------------------------ 1. resolve_sources
def test_resolve_sources_names_where_each_argument_comes_from() -> None:
    plan, (w1, b1, w2, b2) = _mlp_plan()
    resolve_sources(plan)
    assert [n.fn.__name__ for n in plan.nodes] == ["Linear", "ReLU", "Linear", "CrossEntropy"]
    assert plan.specs == [
        [(INPUT, 0), (LEAF, 0), (LEAF, 1)],
        [(NODE, 0)],
        [(NODE, 1), (LEAF, 2), (LEAF, 3)],
        [(NODE, 2), (INPUT, 1), (CONST, "mean")],
    ]
    assert plan.leaves == [w1, b1, w2, b2]
    assert plan.users == {0: [1], 1: [2], 2: [3]}


def test_resolve_sources_refuses_transformed_labels_and_foreign_outputs() -> None:
    w = _param(2, 3)
    plan = _plan(lambda x, y: F.cross_entropy(F.linear(x, w), (y.data + 1) % 2), _inputs(4, 3, 2))
    with pytest.raises(CompileError, match="input 1 \\(integer labels\\) is transformed"):
        resolve_sources(plan)
    plan = _plan(lambda x, y: (F.cross_entropy(F.linear(x, w), y), cr.tensor(1.0)),
                 _inputs(4, 3, 2))
    with pytest.raises(CompileError, match="extra outputs"):
        resolve_sources(plan)


def test_resolve_sources_finds_extra_outputs() -> None:
    w = _param(2, 3)

    def loss_and_scores(x: cr.Tensor, y: cr.Tensor) -> tuple:
        scores = F.linear(x, w)
        return F.cross_entropy(scores, y), scores

    plan = _plan(loss_and_scores, _inputs(4, 3, 2))
    resolve_sources(plan)
    assert plan.extras == [0]


# ------------------------------------------------------------------ 2. mark_gradients
def test_mark_gradients_keeps_inputs_and_constants_out_and_leaves_the_graph_alone() -> None:
    w = _param(2, 3)
    mask = cr.tensor(np.ones((4, 2)))  # a constant Tensor: a leaf without gradient
    plan = _plan(lambda x, y: F.cross_entropy(F.linear(x, w) * mask, y), _inputs(4, 3, 2))
    recorded = [list(n.needs_input_grad) for n in plan.nodes]
    _through(plan, mark_gradients)
    assert plan.specs[1] == [(NODE, 0), (LEAF, 1)]
    assert plan.needs == [[False, True, False], [True, False], [True, False, False]]
    assert plan.grad_nodes == [True, True, True]
    assert plan.has_grad == {id(w)}
    assert recorded[0][0] is True  # the traced input was recorded as needing a gradient ...
    build_plan(plan)
    assert [list(n.needs_input_grad) for n in plan.nodes] == recorded  # ... and still is


def test_mark_gradients_skips_nodes_that_lead_to_no_parameter() -> None:
    w = _param(2, 3)
    plan = _plan(lambda x, y: F.cross_entropy(F.linear(F.tanh(x), w), y), _inputs(4, 3, 2))
    _through(plan, mark_gradients)
    assert plan.grad_nodes == [False, True, True]  # tanh of the input needs no backward
    assert plan.needs[1] == [False, True, False]


# ------------------------------------------------------------------ 3. select_kernels
def test_select_kernels_takes_each_ops_kernel_where_it_accepts_the_node() -> None:
    plan, _ = _mlp_plan()
    _through(plan, select_kernels)
    assert plan.kernel_classes == [LinearKernel, ReLUKernel, LinearKernel, CrossEntropyKernel]


def test_select_kernels_falls_back_where_a_kernel_does_not_fit() -> None:
    w = _param(2, 3)
    w3 = cr.tensor(np.ones((2, 3)), dtype="float32", requires_grad=True)  # not x's dtype

    def loss(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        per_example = F.cross_entropy(F.linear(x, w), y, reduction="none")
        batched = F.linear(x.reshape(2, 2, 3), w)  # a 3-D input
        hinge = F.multiclass_hinge_loss(F.linear(x, w3), y, reduction="none")
        return per_example.sum() + hinge.sum() + F.tanh(batched).sum()

    plan = _plan(loss, _inputs(4, 3, 2))
    _through(plan, select_kernels)
    by_op = [(n.fn.__name__, c) for n, c in zip(plan.nodes, plan.kernel_classes)]
    assert ("CrossEntropy", CrossEntropyReplay) in by_op  # reduction='none': the fallback
    assert ("MulticlassHinge", MulticlassHingeReplay) in by_op
    linears = [c for n, c in by_op if n == "Linear"]
    assert linears == [LinearKernel, GenericKernel, GenericKernel]
    assert ("Tanh", TanhKernel) in by_op  # elementwise: any shape
    assert all(c is GenericKernel for n, c in by_op if n == "Sum")


def test_a_kernel_name_that_does_not_import_is_an_error_naming_the_op() -> None:
    class Twice(cr.Function):
        kernel = "chainrule.compiler.kernels:NoSuchKernel"

        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
            return 2 * x

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
            return 2 * upstream

    plan = _plan(lambda x: Twice.apply(x).sum(), [np.ones(3)])
    resolve_sources(plan)
    mark_gradients(plan)
    with pytest.raises(ImportError, match=r"Twice\.kernel: cannot import"):
        select_kernels(plan)


# ------------------------------------------------------------------ 4. choose_layouts
def test_choose_layouts_puts_small_layers_in_columns_with_a_bias_block() -> None:
    plan, (w1, b1, w2, b2) = _mlp_plan()
    _through(plan, choose_layouts)
    assert plan.columns == [True, False, True, False]
    assert plan.bias_blocks == {0: (w1, b1), 2: (w2, b2)}
    assert plan.input_major == set()


def test_choose_layouts_keeps_a_large_narrowing_weight_transposed() -> None:
    narrow, wide = _param(300, 600), _param(700, 300, seed=1)
    plan = _plan(lambda x, y: F.cross_entropy(F.linear(F.linear(x, narrow), wide), y),
                 _inputs(16, 600, 700))
    _through(plan, choose_layouts)
    assert plan.columns == [False, False, False]
    assert plan.input_major == {id(narrow)}
    assert plan.bias_blocks == {}


# ------------------------------------------------------------------ 5. pack_parameters
def test_pack_parameters_packs_the_optimizers_groups_and_folds_biases() -> None:
    plan, params = _mlp_plan()
    opt = cr.optim.SGD(params, lr=0.1)
    before = [p.data.copy() for p in params]
    _through(plan, choose_layouts)
    pack_parameters(plan, opt)
    arena = plan.arena
    assert arena is not None and len(arena.groups) == 1
    flat = arena.groups[0].data
    assert all(np.shares_memory(p.data, flat) for p in params)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)
    assert set(plan.folded) == {0, 2}
    block, _ = plan.folded[0]
    assert block.shape == (5, 4) and np.shares_memory(block, params[0].data)



def test_pack_parameters_keeps_a_fitting_arena_and_skips_unpackable_optimizers() -> None:
    plan, params = _mlp_plan()
    opt = cr.optim.SGD(params, lr=0.1)
    _through(plan, choose_layouts)
    pack_parameters(plan, opt)
    second = _plan(_mlp_loss(*params), _inputs(6, 3, 2))
    _through(second, choose_layouts)
    pack_parameters(second, opt, plan.arena)
    assert second.arena is plan.arena and set(second.folded) == {0, 2}

    extra = cr.nn.Parameter(np.ones(2))  # gets no gradient from the step: nothing packed
    third = _plan(_mlp_loss(*params), _inputs(4, 3, 2))
    _through(third, choose_layouts)
    pack_parameters(third, cr.optim.SGD([*params, extra], lr=0.1))
    assert third.arena is None and third.folded == {}
    pack_parameters(third, None)
    assert third.arena is None


# ------------------------------------------------------------------ 6. build_kernels
def test_build_kernels_sizes_buffers_and_writes_relu_above_a_row_of_ones() -> None:
    plan, params = _mlp_plan()
    _through(plan, choose_layouts)
    pack_parameters(plan, cr.optim.SGD(params, lr=0.1))
    build_kernels(plan)
    kernels = [k for k, _ in plan.forward]
    assert [k.describe() for k in kernels] == [
        "linear, columns, bias in the product", "relu, columns",
        "linear, columns, bias in the product", "softmax loss, columns"]
    relu = kernels[1]
    assert relu.aug is not None and relu.aug.shape == (6, 4)  # 5 features + the ones
    np.testing.assert_array_equal(relu.aug[-1], 1)
    assert kernels[2].xa is relu.aug  # the next product reads it as [x^T ; 1]
    assert kernels[0].value.shape == (4, 5) and kernels[3].value is None


def test_build_kernels_without_packing_uses_rows_of_the_plan() -> None:
    plan, _ = _mlp_plan()
    _through(plan, build_kernels)
    kernels = [k for k, _ in plan.forward]
    assert [k.describe() for k in kernels][:2] == ["linear, columns", "relu, columns"]
    assert kernels[1].aug is None  # no [W | b] block to feed


# ------------------------------------------------------------------ 7. build_routes
def test_build_routes_assigns_first_contributions_and_adds_later_ones() -> None:
    w = _param(3)
    plan = _plan(lambda x: (x * w).sum() + (w * w).sum(), [np.ones((2, 3))])
    _through(plan, build_routes)
    names = [n.fn.__name__ for n in plan.nodes]
    assert names == ["Mul", "Sum", "Mul", "Sum", "Add"]
    routes = {i: r for i, _, r in plan.backward}
    # reverse order, except w * w (parameters only: nothing waits for it) last
    assert list(routes) == [4, 3, 1, 0, 2]
    assert routes[4] == [(0, NODE, 1, True, ()), (1, NODE, 3, True, ())]
    assert routes[0] == [(1, LEAF, 0, True, (3,))]  # x needs none; w's first contribution
    assert routes[2] == [(0, LEAF, 0, False, (3,)), (1, LEAF, 0, False, (3,))]


# ------------------------------------------------------------------ 8. allocate_grad_buffers
def test_allocate_grad_buffers_one_array_per_parameter_with_a_gradient() -> None:
    w = _param(2, 3)
    mask = cr.tensor(np.ones((4, 2)))
    plan = _plan(lambda x, y: F.cross_entropy(F.linear(x, w) * mask, y), _inputs(4, 3, 2))
    _through(plan, allocate_grad_buffers)
    assert list(plan.grad_buffers) == [0]  # w, not the constant mask
    assert plan.grad_buffers[0].shape == (2, 3)

    packed, params = _mlp_plan()
    _through(packed, choose_layouts)
    pack_parameters(packed, cr.optim.SGD(params, lr=0.1))
    build_kernels(packed)
    build_routes(packed)
    allocate_grad_buffers(packed)
    flat_grad = packed.arena.groups[0].grad
    assert sorted(packed.grad_buffers) == [0, 1, 2, 3]
    assert all(np.shares_memory(g, flat_grad) for g in packed.grad_buffers.values())
