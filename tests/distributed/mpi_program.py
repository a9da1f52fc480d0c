"""Programs that tests/distributed/test_mpi.py starts under ``mpiexec -n K``.

``python mpi_program.py checks``: every rank runs the equivalence checks (K ranks with
per-rank batch B against one process with batch K x B on the same data order, computed
on each rank as the reference) and prints ``ok NAME`` lines; any failure raises, which
ends the job (chainrule.distributed.faults). ``python mpi_program.py train OUT``: a
2-epoch ``train_run`` (then an interrupted one); ``fault raise|kill OUT``: rank 1 fails
after the second epoch.
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim
from chainrule.compiler.fallback import TrainStep
from chainrule.data import DataLoader
from chainrule.data.sharding import shard_indices
from chainrule.train import TrainConfig, Trainer, evaluate, train_run


def report(name: str) -> None:
    if dist.is_main():
        print(f"ok {name}", flush=True)


def data(n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, 5)).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    return X, y


def model_and_opt(dtype: str, kind: str) -> tuple[nn.Module, optim.Optimizer]:
    cr.manual_seed(0)
    model = nn.MLP(5, [16, 8], 3).to(dtype)
    if kind == "adam":
        return model, optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def check_equivalence(dtype: str, kind: str, compiled: bool, tol: float) -> None:
    """N steps on K ranks (per-rank batch B, gradients averaged) == N steps of batch K*B."""
    K, r = dist.world_size(), dist.rank()
    B, N = 4, 24 * K  # N divisible by K: equal per-rank batches, so mean of means = mean
    X, y = data(N, dtype)
    loss_fn = nn.CrossEntropyLoss()
    ranked, opt = model_and_opt(dtype, kind)
    single, ref_opt = model_and_opt(dtype, kind)
    hook = dist.GradientAllreduce()
    step = TrainStep(lambda xb, yb: loss_fn(ranked(xb), yb), opt, model=ranked,
                                 compiled=compiled, gradient_hook=hook)
    ref = TrainStep(lambda xb, yb: loss_fn(single(xb), yb), ref_opt,
                                model=single, compiled=compiled)
    rng = np.random.default_rng(3)
    for _ in range(3):  # epochs
        order = rng.permutation(N)
        mine = shard_indices(order, K, r)
        for b in range(len(mine) // B):
            step(cr.tensor(X[mine[b * B:(b + 1) * B]]), cr.tensor(y[mine[b * B:(b + 1) * B]]))
            batch = order[b * K * B:(b + 1) * K * B]
            ref(cr.tensor(X[batch]), cr.tensor(y[batch]))
    assert step.compiled == compiled and hook.calls > 0
    err = max(float(np.max(np.abs(p.data - q.data)))
              for p, q in zip(ranked.parameters(), single.parameters()))
    assert err <= tol, f"{dtype} {kind}: weights differ by {err:.3g} > {tol:g}"
    assert dist.synchronized(p.data for p in ranked.parameters())
    report(f"equivalence {dtype} {kind} {'compiled' if compiled else 'eager'} "
           f"(max difference {err:.1e})")


def check_trainer(tol: float) -> None:
    """Trainer on K ranks (batch B per rank) == Trainer in one process (batch K*B)."""
    K = dist.world_size()
    X, y = data(30 * K, "float32")
    results = []
    for distributed, batch in ((True, 5), (False, 5 * K)):
        cr.manual_seed(0)
        model = nn.MLP(5, [16], 3)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        trainer = Trainer(model, nn.CrossEntropyLoss(), opt, batch_size=batch, seed=4,
                          progress=False, distributed=distributed, keep_best=False)
        history = trainer.fit((X, y), (X[:20], y[:20]), epochs=3)
        results.append((model, history))
    (a, ha), (b, hb) = results
    err = max(float(np.max(np.abs(p.data - q.data)))
              for p, q in zip(a.parameters(), b.parameters()))
    assert err <= tol, f"Trainer: weights differ by {err:.3g} > {tol:g}"
    np.testing.assert_allclose(ha.train_loss, hb.train_loss, rtol=1e-5)
    np.testing.assert_allclose(ha.train_acc, hb.train_acc)
    np.testing.assert_allclose(ha.val_acc, hb.val_acc)
    report(f"trainer float32 (max difference {err:.1e})")


def check_evaluate() -> None:
    """Sharded evaluate == one process's evaluate (confusion summed, predictions gathered)."""
    X, y = data(37, "float32")  # not divisible by K: shards of different sizes
    cr.manual_seed(1)
    model = nn.MLP(5, [8], 3)
    whole = evaluate(model, X, y, loss=nn.CrossEntropyLoss(), distributed=False)
    shared = evaluate(model, X, y, loss=nn.CrossEntropyLoss())
    np.testing.assert_array_equal(shared.confusion, whole.confusion)
    np.testing.assert_array_equal(shared.predictions, whole.predictions)
    assert shared.accuracy == whole.accuracy
    assert abs(shared.loss - whole.loss) <= 1e-6 * abs(whole.loss)
    report("evaluate")


def check_sharding_and_broadcast() -> None:
    K, r = dist.world_size(), dist.rank()
    loader = DataLoader(np.zeros((11, 2)), np.arange(11), batch_size=3, seed=5,
                        num_replicas=K, rank=r)
    seen = np.concatenate([yb.data for _, yb in loader])
    everyone = dist.allgather(seen)
    assert all(len(s) == len(seen) for s in everyone)
    union = np.concatenate(everyone)
    assert set(union.tolist()) == set(range(11)) and len(union) == K * -(-11 // K)
    cr.manual_seed(100 + r)  # different weights per rank
    model = nn.MLP(3, [4], 2)
    assert not dist.synchronized(p.data for p in model.parameters())
    dist.broadcast_parameters(model)
    assert dist.synchronized(p.data for p in model.parameters())
    report("sharding and broadcast")


def checks() -> None:
    dist.init()
    check_sharding_and_broadcast()
    for kind in ("adam", "sgd"):
        for compiled in (True, False):
            check_equivalence("float64", kind, compiled, 1e-12)
    check_equivalence("float32", "adam", True, 1e-5)
    check_trainer(1e-5)
    check_evaluate()
    dist.barrier()


def config() -> TrainConfig:
    return TrainConfig(epochs=3, hidden=[32], batch_size=32, augment="none", dropout=0.2,
                       val_fraction=0.2)


def train(out: str) -> None:
    """A whole 3-epoch run, and one interrupted after 2 epochs (resumed by the test)."""
    dist.init()
    train_run(config(), out=os.path.join(out, "full"), progress=False)

    def stop_after_two(trainer, epoch, logs):
        if epoch == 2:
            raise KeyboardInterrupt

    try:
        train_run(config(), out=os.path.join(out, "cut"), progress=False,
                  callbacks=(stop_after_two,))
    except KeyboardInterrupt:
        report("interrupted")


def fault(how: str, out: str) -> None:
    """Rank 1 fails after the second epoch's checkpoint."""
    dist.init()

    def fail(trainer, epoch, logs):
        if epoch == 2 and dist.rank() == 1:
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError("rank 1 gives up")

    train_run(config(), out=out, progress=False, callbacks=(fail,))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"checks": checks, "train": train, "fault": fault}[command](*args)
