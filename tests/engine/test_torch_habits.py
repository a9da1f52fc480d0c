"""The Tensor methods PyTorch code calls, against torch itself: conversions (to, cpu, numpy,
tolist), shapes (T, t, view), selection (argmax, topk, sort, max/min over a dim, gather)
with their gradients, and the small methods of the "Learning PyTorch with Examples" style
(mm, pow, clamp, sin, cos, dim=/keepdim=, in-place updates under no_grad)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

rng = np.random.default_rng(7)


def pair(*shape: int, distinct: bool = True) -> tuple[cr.Tensor, object]:
    """The same float32 values as a chainrule and a torch leaf (distinct: no ties)."""
    n = int(np.prod(shape))
    values = rng.permutation(n) * 0.25 - n / 8 if distinct else rng.standard_normal(n)
    values = values.reshape(shape).astype(np.float32)
    return (cr.tensor(values, requires_grad=True),
            torch.tensor(values, requires_grad=True))


def same_grads(ours: cr.Tensor, theirs: object, out: cr.Tensor, expected: object) -> None:
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_to_cpu_numpy_tolist() -> None:
    x = cr.tensor([[1, 2], [3, 4]])
    t = torch.tensor([[1, 2], [3, 4]])
    assert x.to(cr.float64).dtype == np.float64 and t.to(torch.float64).dtype == torch.float64
    assert x.to(cr.tensor([0.5])).dtype == np.float32                     # another's dtype
    assert x.to("cpu") is x and x.cpu() is x
    assert x.to("cpu", cr.float32).dtype == np.float32
    assert x.to(dtype=cr.double).dtype == np.float64
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    assert x.tolist() == t.tolist() == [[1, 2], [3, 4]]
    if not cr.cuda.is_available():  # without CuPy and a GPU: what to install, in one line
        with pytest.raises(RuntimeError, match=r"cuda: CuPy is not installed|no CUDA GPU"):
            x.to("cuda")


def test_to_keeps_the_graph() -> None:
    x, t = pair(2, 3)
    same_grads(x, t, x.to(cr.float64).sum(dim=1), t.to(torch.float64).sum(dim=1))


@pytest.mark.parametrize("view", [(-1,), (3, 4), (2, -1, 2)])
def test_T_t_and_view(view: tuple) -> None:
    x, t = pair(4, 3)
    np.testing.assert_array_equal(x.T.data, t.T.detach().numpy())
    np.testing.assert_array_equal(x.t().data, t.t().detach().numpy())
    same_grads(x, t, x.view(*view), t.view(*view))
    assert cr.tensor([1.0, 2.0]).t().shape == (2,)
    with pytest.raises(cr.ShapeError, match="at most 2 dimensions"):
        cr.zeros(2, 2, 2).t()


@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (0, False), (1, True), (-1, False)])
def test_argmax_argmin(dim, keepdim) -> None:
    x, t = pair(3, 5)
    kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    np.testing.assert_array_equal(x.argmax(**kwargs).data, t.argmax(**kwargs).numpy())
    np.testing.assert_array_equal(x.argmin(**kwargs).data, t.argmin(**kwargs).numpy())
    np.testing.assert_array_equal(cr.argmax(x, 1).data, torch.argmax(t, 1).numpy())


@pytest.mark.parametrize(("k", "dim", "largest"), [(2, -1, True), (1, 0, True), (3, 1, False)])
def test_topk(k, dim, largest) -> None:
    x, t = pair(4, 5)
    values, indices = x.topk(k, dim=dim, largest=largest)
    expected = t.topk(k, dim=dim, largest=largest)
    np.testing.assert_array_equal(indices.data, expected.indices.numpy())
    np.testing.assert_array_equal(values.data, expected.values.detach().numpy())
    assert indices.dtype == np.int64
    same_grads(x, t, values, expected.values)


@pytest.mark.parametrize(("dim", "descending"), [(-1, False), (0, True), (1, True)])
def test_sort(dim, descending) -> None:
    x, t = pair(3, 4)
    ours, theirs = x.sort(dim=dim, descending=descending), t.sort(dim=dim, descending=descending)
    np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())
    np.testing.assert_array_equal(ours.values.data, theirs.values.detach().numpy())
    same_grads(x, t, ours.values, theirs.values)


def test_sort_is_stable_like_torch_stable() -> None:
    data = [3.0, 1.0, 3.0, 2.0, 1.0]
    ours = cr.tensor(data).sort(descending=True).indices.data
    theirs = torch.tensor(data).sort(descending=True, stable=True).indices.numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize(("dim", "keepdim"), [(0, False), (1, True), (-1, False)])
def test_max_min_over_a_dim_give_values_and_indices(name, dim, keepdim) -> None:
    x, t = pair(3, 4)
    ours = getattr(x, name)(dim, keepdim)
    theirs = getattr(t, name)(dim=dim, keepdim=keepdim)
    values, indices = ours                                   # unpacks like torch's
    np.testing.assert_array_equal(indices.data, theirs.indices.numpy())
    np.testing.assert_array_equal(values.data, theirs.values.detach().numpy())
    assert ours.values is values
    same_grads(x, t, values, theirs.values)


def test_max_over_a_dim_sends_the_gradient_to_one_of_the_ties() -> None:
    x = cr.tensor([[2.0, 2.0, 1.0]], requires_grad=True)
    t = torch.tensor([[2.0, 2.0, 1.0]], requires_grad=True)
    x.max(1).values.sum().backward()
    t.max(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())        # [[1, 0, 0]]


def test_max_without_dim_or_with_numpys_axis_is_a_tensor() -> None:
    x, t = pair(2, 3)
    np.testing.assert_array_equal(x.max().data, t.max().detach().numpy())
    np.testing.assert_array_equal(x.max(axis=1).data, t.amax(1).detach().numpy())
    np.testing.assert_array_equal(x.min(axis=(0, 1)).data, t.amin((0, 1)).detach().numpy())
    with pytest.raises(TypeError, match=r"dim \(PyTorch\) or axis"):
        x.max(1, axis=0)


def test_gather() -> None:
    x, t = pair(3, 4)
    index = np.array([[0, 0, 3], [1, 2, 2], [3, 0, 1]])
    ours, theirs = x.gather(1, index), t.gather(1, torch.from_numpy(index))
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    same_grads(x, t, ours, theirs)                             # repeated indices add up
    with pytest.raises(cr.ShapeError, match="gather: index must be integers"):
        x.gather(1, np.zeros(3))


def test_gather_gradient_is_differentiable() -> None:
    x = cr.tensor([[1.0, 2.0, 3.0]], dtype="float64", requires_grad=True)
    cr.gradcheck(lambda a: cr.gather(a, 1, np.array([[2, 0, 2]])) ** 2, [x])
    (g,) = cr.grad((cr.gather(x, 1, np.array([[2, 2]])) ** 2).sum(), [x], create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.0, 4.0]])      # d/dx of 2 * 2 x_2


def test_mm_pow_clamp_sin_cos() -> None:
    a, ta = pair(3, 4, distinct=False)
    b, tb = pair(4, 2, distinct=False)
    same_grads(a, ta, a.mm(b), ta.mm(tb))
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-5, atol=1e-6)
    for ours, theirs in [
        (lambda x: x.pow(3), lambda x: x.pow(3)),
        (lambda x: x.clamp(min=0), lambda x: x.clamp(min=0)),
        (lambda x: x.clamp(min=-0.5, max=0.5), lambda x: x.clamp(min=-0.5, max=0.5)),
        (lambda x: cr.clamp(x, max=0.1), lambda x: torch.clamp(x, max=0.1)),
        (lambda x: x.sin(), lambda x: x.sin()),
        (lambda x: cr.cos(x) * cr.sin(x), lambda x: torch.cos(x) * torch.sin(x)),
    ]:
        x, t = pair(3, 3, distinct=False)
        np.testing.assert_allclose(ours(x).data, theirs(t).detach().numpy(), rtol=1e-6)
        same_grads(x, t, ours(x), theirs(t))
    with pytest.raises(cr.ShapeError, match="mm: expected two 2-D tensors"):
        cr.zeros(3).mm(cr.zeros(3, 2))


def test_polynomial_features_stay_float32() -> None:
    """``x.unsqueeze(-1).pow(p)`` with an integer tensor p: float32, as in PyTorch."""
    x = cr.linspace(-1, 1, 5)
    p = cr.tensor([1, 2, 3])
    ours = x.unsqueeze(-1).pow(p)
    theirs = torch.linspace(-1, 1, 5).unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)
    assert (x * cr.tensor([2])).dtype == np.float32


def test_reductions_take_dim_and_keepdim() -> None:
    x, t = pair(2, 3, 4)
    np.testing.assert_allclose(x.sum(dim=1, keepdim=True).data,
                               t.sum(dim=1, keepdim=True).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.mean(dim=(0, 2)).data, t.mean(dim=(0, 2)).detach().numpy(),
                               rtol=1e-6)
    assert x.dim() == t.dim() == 3 and x.numel() == t.numel() == 24


def test_in_place_updates_under_no_grad_change_the_leaf() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    before = w
    with cr.no_grad():
        w -= 0.1 * w.grad
        w *= 2
    assert w is before and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.data, [1.6, 3.2], rtol=1e-6)
    w.grad = None
    (w * 3).sum().backward()                                   # still a leaf of new graphs
    np.testing.assert_allclose(w.grad, [3.0, 3.0])


def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad() -> None:
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place operation; update it inside"):
        w += 1
    t = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place operation"):
        t += 1


def test_in_place_in_a_graph_makes_a_new_node() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    h += w                                   # recorded: h is a new tensor, gradients exact
    h.sum().backward()
    np.testing.assert_allclose(w.grad, [4.0, 4.0])
    plain = cr.zeros(2)
    alias = plain
    plain += cr.tensor([1.0, 2.0])           # no graph: in place, as in PyTorch
    assert alias is plain and plain.tolist() == [1.0, 2.0]
