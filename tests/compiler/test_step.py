"""The compiled step must give the eager step's results (it replays the same kernels)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from tests.compiler.equivalence import mlp_data as _data
from tests.compiler.equivalence import mlp_pair as _pair


def test_the_package_and_the_function_have_names_of_their_own() -> None:
    import types

    import chainrule.compiler

    assert isinstance(chainrule.compiler, types.ModuleType)
    assert isinstance(cr.compile, types.FunctionType)
    assert chainrule.compiler.compile is cr.compile
    assert chainrule.compiler.CompiledStep is cr.CompiledStep
    assert chainrule.compiler.CompileError is cr.CompileError


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adamw", "rmsprop"])
# (20, 300, 5): a ReLU mask above _SIGN_MASK elements and an input-major 300 -> 5 weight
@pytest.mark.parametrize("sizes", [(2, 16, 16, 2), (20, 30, 5), (20, 300, 5)])
def test_compiled_matches_eager_over_steps(optimizer: str, sizes: tuple) -> None:
    eager_model, fast_model = _pair(sizes, "float64")

    def make(params: object) -> object:
        if optimizer == "sgd":
            return cr.optim.SGD(params, lr=0.1)
        if optimizer == "momentum":
            return cr.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
        if optimizer == "adamw":
            return cr.optim.AdamW(params, lr=1e-2, weight_decay=0.1, amsgrad=True)
        if optimizer == "rmsprop":
            return cr.optim.RMSprop(params, lr=1e-2, momentum=0.5, centered=True)
        return cr.optim.Adam(params, lr=1e-2)

    opt_e, opt_f = make(eager_model.parameters()), make(fast_model.parameters())
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)
    for s in range(8):
        x, y = _data(16, sizes[0], sizes[-1], "float64", seed=s)
        opt_e.zero_grad()
        le = loss_fn(eager_model(cr.tensor(x, dtype="float64")), y)
        le.backward()
        opt_e.step()
        lf = step(x, y)
        assert lf.item() == pytest.approx(le.item(), rel=1e-12, abs=1e-12)
    for (name, pe), pf in zip(eager_model.named_parameters(), fast_model.parameters()):
        np.testing.assert_allclose(pf.data, pe.data, rtol=1e-10, atol=1e-12, err_msg=name)
    assert step.traces == 1


def test_compiled_float32_close_to_eager_and_gradients_land_in_grad() -> None:
    eager_model, fast_model = _pair((10, 8, 3))
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), None)
    x, y = _data(12, 10, 3)
    loss = step(x, y)
    ref = loss_fn(eager_model(x), y)
    ref.backward()
    assert loss.dtype == np.float32
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    for pe, pf in zip(eager_model.parameters(), fast_model.parameters()):
        assert pf.grad is not None and pf.grad.dtype == np.float32
        np.testing.assert_allclose(pf.grad, pe.grad, rtol=1e-5, atol=1e-6)


def test_regularized_loss_uses_generic_kernels() -> None:
    eager_model, fast_model = _pair((6, 5, 4), "float64", activation="tanh")

    def loss_of(model: object, x: object, y: object) -> cr.Tensor:
        scores = model(x)
        return F.multiclass_hinge_loss(scores, y) + cr.nn.l2_penalty(model, 1e-2)

    step = cr.compile(lambda x, y: loss_of(fast_model, x, y), None)
    x, y = _data(9, 6, 4, "float64")
    loss = step(x, y)
    ref = loss_of(eager_model, cr.tensor(x, dtype="float64"), y)
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    for pe, pf in zip(eager_model.parameters(), fast_model.parameters()):
        np.testing.assert_allclose(pf.grad, pe.grad, rtol=1e-10, atol=1e-12)


def test_new_shape_retraces() -> None:
    _, model = _pair((4, 3, 2))
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(model(x), y), None)
    step(*_data(8, 4, 2))
    step(*_data(8, 4, 2, seed=1))
    assert step.traces == 1
    step(*_data(5, 4, 2))
    assert step.traces == 2
    step(*_data(8, 4, 2, seed=2))  # the full-batch plan is kept: no third trace
    assert step.traces == 2


def test_dropout_replays_fresh_masks_from_the_eager_random_stream() -> None:
    eager_model, fast_model = _pair((6, 16, 3), "float64", dropout=0.5)
    opt_e = cr.optim.SGD(eager_model.parameters(), lr=0.1)
    opt_f = cr.optim.SGD(fast_model.parameters(), lr=0.1)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)
    losses = []
    for s in range(4):
        x, y = _data(10, 6, 3, "float64", seed=s)
        cr.manual_seed(100 + s)
        opt_e.zero_grad()
        le = loss_fn(eager_model(cr.tensor(x, dtype="float64")), y)
        le.backward()
        opt_e.step()
        cr.manual_seed(100 + s)
        lf = step(x, y)
        assert lf.item() == pytest.approx(le.item(), rel=1e-12)
        losses.append(lf.item())
    assert len(set(losses)) == 4  # a new mask (and new data) every step
    for pe, pf in zip(eager_model.parameters(), fast_model.parameters()):
        np.testing.assert_allclose(pf.data, pe.data, rtol=1e-10, atol=1e-12)


def test_batchnorm_is_replayed_and_updates_its_running_statistics_as_eager() -> None:
    eager_model, fast_model = _pair((4, 8, 2), "float64", batchnorm=True)
    opt_e = cr.optim.SGD(eager_model.parameters(), lr=0.1)
    opt_f = cr.optim.SGD(fast_model.parameters(), lr=0.1)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)
    for s in range(3):
        _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(8, 4, 2, "float64", seed=s))
    assert "batchnorm, batch statistics" in step.source
    bn = fast_model[1]
    assert int(bn.num_batches_tracked) == 3  # one update per step: the traces make none
    for name, value in eager_model.state_dict().items():
        np.testing.assert_allclose(fast_model.state_dict()[name], value, rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def test_a_change_of_mode_or_a_replaced_buffer_retraces() -> None:
    eager_model, fast_model = _pair((4, 8, 3), "float64", batchnorm=True, dropout=0.5)
    opt_e = cr.optim.SGD(eager_model.parameters(), lr=0.1)
    opt_f = cr.optim.SGD(fast_model.parameters(), lr=0.1)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)

    def both(s: int) -> None:
        cr.manual_seed(s)
        expected = _eager_step(eager_model, opt_e, loss_fn, *_data(10, 4, 3, "float64", seed=s))
        cr.manual_seed(s)
        assert step(*_data(10, 4, 3, "float64", seed=s)).item() == pytest.approx(expected,
                                                                                 rel=1e-12)

    both(0)
    for m in (eager_model, fast_model):
        m.eval()  # running statistics, no dropout: another graph
    both(1)
    assert step.traces == 2 and "batchnorm, running statistics" in step.source
    for m in (eager_model, fast_model):
        m.train()
        m[1].running_mean = np.full(8, 0.5)  # a new array, not an in-place change
    both(2)
    assert step.traces == 3
    np.testing.assert_allclose(fast_model[1].running_mean, eager_model[1].running_mean,
                               rtol=1e-12)


def test_batchnorm_in_training_mode_replays_its_running_statistics() -> None:
    """The op updates the running statistics, so a replay moves them as eager steps do,
    and tracing (which runs the forward twice) leaves them alone."""
    models = []
    for _ in range(2):
        cr.manual_seed(0)
        models.append(cr.nn.MLP(4, [8], 2, batchnorm=True).double())
    eager, fast = models
    opt_e = cr.optim.SGD(eager.parameters(), lr=0.1)
    opt_f = cr.optim.SGD(fast.parameters(), lr=0.1)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast(x), y), opt_f, model=fast)
    for s in range(3):
        x, y = _data(8, 4, 2, dtype="float64", seed=s)
        opt_e.zero_grad()
        le = loss_fn(eager(cr.tensor(x, dtype="float64")), y)
        le.backward()
        opt_e.step()
        assert step(x, y).item() == pytest.approx(le.item(), rel=1e-12)
    assert step.traces == 1
    for (k, a), b in zip(eager.state_dict().items(), fast.state_dict().values()):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14, err_msg=k)
    assert int(fast[1].num_batches_tracked) == 3


def test_a_module_that_updates_state_in_training_is_refused_by_its_attribute() -> None:
    class Counting(cr.nn.Module):
        """Counts its calls in Python: a replay would skip the count."""

        updates_in_training = "its call counter"

        def __init__(self) -> None:
            super().__init__()
            self.fc = cr.nn.Linear(4, 2)
            self.calls = 0

        def forward(self, x: cr.Tensor) -> cr.Tensor:
            self.calls += 1
            return self.fc(x)

    model = Counting()
    step = cr.compile(lambda x, y: F.cross_entropy(model(x), y), None, model=model)
    with pytest.raises(cr.CompileError, match=r"compile: Counting in training mode cannot be "
                       r"replayed \(it updates its call counter in Python on every call\)"):
        step(*_data(8, 4, 2))
    model.eval()  # evaluation mode changes nothing: the replay is the eager step
    step(*_data(8, 4, 2))
    assert step.traces == 1


def test_extra_outputs_are_returned() -> None:
    _, model = _pair((4, 5, 3))
    loss_fn = cr.nn.CrossEntropyLoss()

    def loss_and_scores(x: cr.Tensor, y: cr.Tensor) -> tuple:
        scores = model(x)
        return loss_fn(scores, y), scores

    step = cr.compile(loss_and_scores, None)
    x, y = _data(7, 4, 3)
    with cr.no_grad():
        expected = model(x).data.copy()
    loss, scores = step(x, y)
    assert loss.shape == () and scores.shape == (7, 3)
    np.testing.assert_allclose(scores.data, expected, rtol=1e-6)


def test_random_constant_is_detected_without_model() -> None:
    model = cr.nn.MLP(4, [8], 2)
    loss_fn = cr.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)

    def noisy(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        mask = (rng.random((8, 8)) > 0.5).astype(np.float32)
        return loss_fn(F.linear(F.relu(model[0](x)) * mask, model[2].weight, model[2].bias), y)

    step = cr.compile(noisy, None)
    with pytest.raises(cr.CompileError, match="changes between calls"):
        step(*_data(8, 4, 2))


def test_transformed_labels_are_refused() -> None:
    model = cr.nn.MLP(4, [8], 3)
    step = cr.compile(lambda x, y: F.cross_entropy(model(x), (y.data + 1) % 3), None)
    with pytest.raises(cr.CompileError, match="labels"):
        step(*_data(8, 4, 3))


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_trainer_compiled_and_eager_runs_agree(dropout: float) -> None:
    from chainrule.train import Trainer

    x, y = _data(150, 12, 4, seed=5)
    histories, weights = [], []
    for use_compile in (True, False):
        cr.manual_seed(3)
        model = cr.nn.MLP(12, [32], 4, dropout=dropout)
        opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        trainer = Trainer(model, cr.nn.CrossEntropyLoss(), opt, batch_size=32, reg=1e-3,
                          progress=False, compile=use_compile)
        histories.append(trainer.fit((x, y), None, epochs=3))
        weights.append([p.data.copy() for p in model.parameters()])
        assert trainer._compiled.compiled == use_compile
    np.testing.assert_allclose(histories[0].train_loss, histories[1].train_loss, rtol=1e-5)
    assert histories[0].train_acc == histories[1].train_acc
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_trainer_compiles_batchnorm_and_matches_its_eager_run() -> None:
    from chainrule.train import Trainer

    x, y = _data(64, 6, 3)
    runs = []
    for use_compile in (True, False):
        cr.manual_seed(0)
        model = cr.nn.MLP(6, [8], 3, batchnorm=True)
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        trainer = Trainer(model, cr.nn.CrossEntropyLoss(), opt, batch_size=16, reg=1e-3,
                          progress=False, compile=use_compile)
        history = trainer.fit((x, y), None, epochs=2)
        assert trainer._compiled.compiled == use_compile
        runs.append((history.train_loss, model.state_dict()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    for name, value in runs[1][1].items():
        np.testing.assert_allclose(runs[0][1][name], value, rtol=1e-4, atol=1e-6, err_msg=name)


def test_trainer_compiles_batchnorm() -> None:
    from chainrule.train import Trainer

    x, y = _data(64, 6, 3)
    model = cr.nn.MLP(6, [8], 3, batchnorm=True)
    trainer = Trainer(model, cr.nn.CrossEntropyLoss(), cr.optim.Adam(model.parameters()),
                      batch_size=16, progress=False)
    history = trainer.fit((x, y), None, epochs=2)
    assert trainer._compiled.compiled
    assert int(model[1].num_batches_tracked) == 8
    assert len(history.train_loss) == 2 and np.isfinite(history.train_loss).all()


# ---------------------------------------------------------------- packed parameters
def _eager_step(model: object, opt: object, loss_fn: object, x: np.ndarray, y: np.ndarray) -> float:
    opt.zero_grad()
    loss = loss_fn(model(cr.tensor(x, dtype=x.dtype.name)), y)
    loss.backward()
    opt.step()
    return loss.item()


def _assert_same_parameters(a: object, b: object) -> None:
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(pb.data, pa.data, rtol=1e-10, atol=1e-12, err_msg=name)


def _sgd_pair(sizes: tuple, lr: float = 0.1) -> tuple:
    """Two equal float64 MLPs with SGD each, and the second one's compiled step."""
    eager_model, fast_model = _pair(sizes, "float64")
    opt_e = cr.optim.SGD(eager_model.parameters(), lr=lr)
    opt_f = cr.optim.SGD(fast_model.parameters(), lr=lr)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)
    return eager_model, fast_model, opt_e, step, loss_fn


def _assert_same_step(step: object, model: object, opt: object, loss_fn: object,
                      x: np.ndarray, y: np.ndarray) -> None:
    """One compiled step and one eager step (on ``model``) give the same loss."""
    assert step(x, y).item() == pytest.approx(_eager_step(model, opt, loss_fn, x, y), rel=1e-12)


def test_sgd_parameters_are_packed_and_updated_in_one_array() -> None:
    eager_model, fast_model, opt_e, step, loss_fn = _sgd_pair((12, 20, 4))
    _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(16, 12, 4, "float64"))
    params = list(fast_model.parameters())
    base = params[0].data.base
    assert base is not None and base.ndim == 1
    assert all(np.shares_memory(p.data, base) for p in params)
    assert all(np.shares_memory(p.grad, params[0].grad.base) for p in params)
    assert "flat_optimizer" in step.source and "optimizer_step" in step.source  # + fallback
    # small layers: weight and bias side by side, one [W | b] block of shape (out, in + 1)
    for layer in (fast_model[0], fast_model[2]):
        w, b = layer.weight.data, layer.bias.data
        assert w.strides[0] == b.strides[0] == (w.shape[1] + 1) * w.itemsize
        assert np.shares_memory(w, base) and b.__array_interface__["data"][0] == (
            w.__array_interface__["data"][0] + w.shape[1] * w.itemsize)
    for s in range(1, 5):
        _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(16, 12, 4, "float64", seed=s))
    _assert_same_parameters(eager_model, fast_model)
    for pe, pf in zip(eager_model.parameters(), fast_model.parameters()):
        np.testing.assert_allclose(pf.grad, pe.grad, rtol=1e-10, atol=1e-12)


def test_large_narrowing_layer_keeps_its_weight_transposed() -> None:
    eager_model, fast_model, opt_e, step, loss_fn = _sgd_pair((600, 300, 700, 5), lr=0.05)
    for s in range(3):
        _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(16, 600, 5, "float64", seed=s))
    _assert_same_parameters(eager_model, fast_model)
    narrowing, widening = fast_model[0].weight, fast_model[2].weight  # 600->300, 300->700
    assert narrowing.shape == (300, 600) and narrowing.data.flags.f_contiguous
    assert widening.data.flags.c_contiguous


def test_param_groups_weight_decay_and_a_later_switch_to_momentum() -> None:
    eager_model, fast_model = _pair((8, 6, 3), "float64")

    def make(model: object) -> object:
        weights = [p for p in model.parameters() if p.ndim == 2]
        biases = [p for p in model.parameters() if p.ndim == 1]
        return cr.optim.SGD([{"params": weights, "weight_decay": 1e-2},
                             {"params": biases, "lr": 0.05}], lr=0.2)

    opt_e, opt_f = make(eager_model), make(fast_model)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)
    for s in range(6):
        if s == 3:  # momentum from here on: the optimizer's own step() takes over
            for opt in (opt_e, opt_f):
                opt.param_groups[0]["momentum"] = 0.9
        _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(10, 8, 3, "float64", seed=s))
    _assert_same_parameters(eager_model, fast_model)
    assert set(opt_f.state) == set(fast_model[0].parameters()) | set(fast_model[2].parameters())
    assert step.traces == 1


def test_replaced_parameter_data_triggers_a_new_trace() -> None:
    eager_model, fast_model, opt_e, step, loss_fn = _sgd_pair((5, 7, 3))
    _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(6, 5, 3, "float64"))
    for m in (eager_model, fast_model):  # a new array, not an in-place change
        m[0].weight.data = m[0].weight.data * 0.5
    _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(6, 5, 3, "float64", seed=1))
    assert step.traces == 2
    _assert_same_parameters(eager_model, fast_model)


def test_parameter_without_gradient_keeps_optimizer_semantics() -> None:
    eager_model, fast_model = _pair((4, 5, 3), "float64")
    extra_e, extra_f = cr.nn.Parameter(np.ones(3)), cr.nn.Parameter(np.ones(3))
    opt_e = cr.optim.SGD([*eager_model.parameters(), extra_e], lr=0.1, weight_decay=0.1)
    opt_f = cr.optim.SGD([*fast_model.parameters(), extra_f], lr=0.1, weight_decay=0.1)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)
    for s in range(3):
        _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(6, 4, 3, "float64", seed=s))
    np.testing.assert_array_equal(extra_f.data, np.ones(3))  # no gradient: no update, no decay
    assert extra_f.grad is None
    _assert_same_parameters(eager_model, fast_model)


def test_checkpoint_of_a_packed_model_round_trips(tmp_path: object) -> None:
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    model = cr.nn.MLP(30, [6], 3)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(model(x), y), opt, model=model)
    step(*_data(8, 30, 3))
    assert not model[0].weight.data.flags.c_contiguous  # packed as a strided view
    save_checkpoint(tmp_path / "ck.safetensors", model)
    loaded = load_checkpoint(tmp_path / "ck.safetensors").model
    for (name, a), b in zip(model.named_parameters(), loaded.parameters()):
        np.testing.assert_array_equal(b.data, a.data, err_msg=name)


# ---------------------------------------------------------------- bad input on replay
@pytest.mark.parametrize("bad", [-1, 3])
def test_out_of_range_labels_are_refused_on_every_replay(bad: int) -> None:
    _, model = _pair((4, 5, 3))
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(model(x), y), cr.optim.SGD(model.parameters(), 0.1))
    x, y = _data(8, 4, 3)
    step(x, y)
    before = [p.data.copy() for p in model.parameters()]
    y[5] = bad
    with pytest.raises(IndexError, match=f"label {bad} is out of range for 3 classes"):
        step(x, y)
    for a, p in zip(before, model.parameters()):  # refused before anything was updated
        np.testing.assert_array_equal(p.data, a)


def test_hinge_labels_are_checked_on_replay() -> None:
    _, model = _pair((4, 5, 3))
    step = cr.compile(lambda x, y: F.multiclass_hinge_loss(model(x), y), None)
    x, y = _data(8, 4, 3)
    step(x, y)
    y[0] = 7
    with pytest.raises(IndexError, match="out of range"):
        step(x, y)


def test_constant_tensor_made_inside_the_step_is_detected() -> None:
    model = cr.nn.MLP(4, [8], 2)
    loss_fn = cr.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)

    def noisy(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        mask = cr.tensor((rng.random((8, 2)) > 0.5).astype(np.float32))
        return loss_fn(model(x) * mask, y)

    step = cr.compile(noisy, None)
    with pytest.raises(cr.CompileError, match="changes between calls"):
        step(*_data(8, 4, 2))


def test_source_shows_the_replayed_numpy_calls() -> None:
    _, model = _pair((3, 4, 2))
    step = cr.compile(lambda x, y: F.cross_entropy(model(x), y), None)
    assert step.source == ""
    step(*_data(5, 3, 2))
    assert step.source.startswith("def replay(a0, a1):")
    assert "_exp(" in step.source and "_maximum(" in step.source


def test_long_mixed_graph_with_extras_matches_eager() -> None:
    # Buffered and generic kernels interleaved over more than ten nodes, with an extra
    # output: every generated name must stay distinct (a clash once broke the replay).
    eager_model, fast_model = _pair((6, 8, 8, 8, 8, 3), "float64", activation="tanh")

    def loss_and_scores(model: object, x: cr.Tensor, y: object) -> tuple:
        scores = model(x)
        return F.cross_entropy(scores, y) + cr.nn.l2_penalty(model, 1e-2), scores

    step = cr.compile(lambda x, y: loss_and_scores(fast_model, x, y), None)
    for s in range(2):
        x, y = _data(9, 6, 3, "float64", seed=s)
        for p in eager_model.parameters():
            p.grad = None
        loss, scores = step(x, y)
        ref_loss, ref_scores = loss_and_scores(eager_model, cr.tensor(x, dtype="float64"), y)
        ref_loss.backward()
        assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12)
        np.testing.assert_allclose(scores.data, ref_scores.data, rtol=1e-12)
        for pe, pf in zip(eager_model.parameters(), fast_model.parameters()):
            np.testing.assert_allclose(pf.grad, pe.grad, rtol=1e-10, atol=1e-12)



# ---------------------------------------------------------------- flat optimizer state
def _assert_same_state(opt_a: object, opt_b: object) -> None:
    a, b = opt_a.state_dict(), opt_b.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert set(a["state"]) == set(b["state"])
    for k, entry in a["state"].items():
        assert set(entry) == set(b["state"][k])
        for name, value in entry.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_allclose(b["state"][k][name], value, rtol=1e-10, atol=1e-12)
            else:
                assert b["state"][k][name] == value


def test_adam_state_is_flat_and_survives_state_dicts_and_eager_steps() -> None:
    eager_model, fast_model = _pair((7, 9, 3), "float64")
    opt_e = cr.optim.Adam(eager_model.parameters(), lr=1e-2)
    opt_f = cr.optim.Adam(fast_model.parameters(), lr=1e-2)
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)

    def both(s: int, fast_eager: bool = False) -> None:
        x, y = _data(10, 7, 3, "float64", seed=s)
        expected = _eager_step(eager_model, opt_e, loss_fn, x, y)
        got = (_eager_step(fast_model, opt_f, loss_fn, x, y) if fast_eager
               else step(x, y).item())
        assert got == pytest.approx(expected, rel=1e-12)

    for s in range(3):
        both(s)
    w = fast_model[0].weight
    flat = opt_f.state[w]["exp_avg"].base  # one flat array behind every parameter's state
    assert flat is not None and flat.ndim == 1
    assert opt_f.state[fast_model[2].bias]["exp_avg"].base is flat
    assert opt_f.state[w]["step"] == 3
    _assert_same_state(opt_e, opt_f)
    both(3, fast_eager=True)  # an eager step on the packed parameters and state
    both(4)
    _assert_same_state(opt_e, opt_f)
    # a loaded state (new arrays) is taken over by the next compiled step
    saved = opt_e.state_dict()
    opt_f.load_state_dict(saved)
    for s in (5, 6):
        both(s)
    _assert_same_state(opt_e, opt_f)
    _assert_same_parameters(eager_model, fast_model)
    assert step.traces == 1


def test_uneven_optimizer_state_falls_back_to_the_optimizers_own_step() -> None:
    eager_model, fast_model = _pair((5, 6, 3), "float64")
    opt_e = cr.optim.Adam(eager_model.parameters(), lr=1e-2)
    opt_f = cr.optim.Adam(fast_model.parameters(), lr=1e-2)
    loss_fn = cr.nn.CrossEntropyLoss()
    x, y = _data(8, 5, 3, "float64")
    # One eager step on the first layer only: its step count differs from the others'.
    for model, opt in ((eager_model, opt_e), (fast_model, opt_f)):
        loss_fn(model(cr.tensor(x, dtype="float64")), y).backward()
        for p in model[2].parameters():
            p.grad = None
        opt.step()
        opt.zero_grad()
    step = cr.compile(lambda a, b: loss_fn(fast_model(a), b), opt_f, model=fast_model)
    for s in range(1, 4):
        _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(8, 5, 3, "float64", seed=s))
    assert opt_f.state[fast_model[0].weight]["exp_avg"].base is None  # per parameter, not packed
    _assert_same_state(opt_e, opt_f)
    _assert_same_parameters(eager_model, fast_model)


@pytest.mark.parametrize("first", [16, 64])
def test_batch_sizes_on_both_sides_of_the_layout_switch(first: int) -> None:
    # 64 -> 64 is small (column layout) for a batch of 16 and large (rows) for 64; the
    # packed parameters are laid out for whichever plan came first, and both plans must
    # work on that layout.
    eager_model, fast_model, opt_e, step, loss_fn = _sgd_pair((64, 64, 10))
    sizes = [first, 80 - first, first, 80 - first]
    for s, n in enumerate(sizes):
        _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(n, 64, 10, "float64", seed=s))
    _assert_same_parameters(eager_model, fast_model)
    assert step.traces == 2


# ---------------------------------------------------------------- a user's optimizer
class _SignMomentum(cr.optim.Optimizer):
    """``v = beta v + g``, ``w -= lr sign(v)``: elementwise, so it may run packed."""

    elementwise = True

    def __init__(self, params: object, lr: float = 0.01, beta: float = 0.5) -> None:
        super().__init__(params, dict(lr=lr, beta=beta))

    def update(self, group: dict, p: cr.Tensor, state: dict) -> None:
        if not state:
            state["velocity"] = np.zeros_like(p.data)
        v = state["velocity"]
        v *= group["beta"]
        v += p.grad
        p.data -= group["lr"] * np.sign(v)


class _Reassigning(_SignMomentum):
    """The same rule written with new arrays instead of in-place updates."""

    elementwise = True

    def update(self, group: dict, p: cr.Tensor, state: dict) -> None:
        state["velocity"] = group["beta"] * state.get("velocity", 0.0) + p.grad
        p.data = p.data - group["lr"] * np.sign(state["velocity"])


class _NotDeclared(_SignMomentum):
    """A rule of its own that does not say it is elementwise: run by step()."""

    def update(self, group: dict, p: cr.Tensor, state: dict) -> None:
        super().update(group, p, state)


@pytest.mark.parametrize(("make", "packed"), [(_SignMomentum, True), (_Reassigning, True),
                                              (_NotDeclared, False)])
def test_a_users_optimizer_runs_packed_when_elementwise_and_matches_eager(
        make: type, packed: bool) -> None:
    eager_model, fast_model = _pair((6, 8, 3), "float64")
    opt_e, opt_f = make(eager_model.parameters()), make(fast_model.parameters())
    loss_fn = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast_model(x), y), opt_f, model=fast_model)
    for s in range(4):
        _assert_same_step(step, eager_model, opt_e, loss_fn, *_data(10, 6, 3, "float64", seed=s))
    _assert_same_parameters(eager_model, fast_model)
    _assert_same_state(opt_e, opt_f)
    assert ("flat_optimizer" in step.source) == packed
    velocity = opt_f.state[fast_model[0].weight]["velocity"]
    assert (velocity.base is not None and velocity.base.ndim == 1) == packed
    assert step.traces == 1


def test_a_step_on_another_device_is_refused_and_the_train_step_runs_eagerly() -> None:
    from chainrule.compiler.fallback import TrainStep

    cr.manual_seed(0)
    model = cr.nn.MLP(3, [4], 2).to("array_api_strict")
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data(8, 3, 2)

    def loss_fn(a: object, b: object) -> cr.Tensor:
        return F.cross_entropy(model(a), b)

    with pytest.raises(cr.CompileError, match=r"array_api_strict.*NumPy code"):
        cr.compile(loss_fn, opt, model=model)(x, y)
    step = TrainStep(loss_fn, opt, model=model)
    first = step(x, y).item()
    assert not step.compiled and "array_api_strict" in step.fallback_reason
    assert step(x, y).item() < first  # trains, eagerly, on that device
