"""Subnormal floats flushed to zero (chainrule.denormals), and the Trainer's use of it."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.denormals import flush_denormal_enabled, flushing_denormals, set_flush_denormal

SUPPORTED = set_flush_denormal(False)
needs_support = pytest.mark.skipif(not SUPPORTED, reason="flushing needs x86-64 Linux (glibc)")
SUBNORMAL = np.full(8, 1e-39, np.float32)


def halved() -> np.ndarray:
    return SUBNORMAL * np.float32(0.5)


@needs_support
def test_subnormals_become_zero_only_while_flushing() -> None:
    assert not flush_denormal_enabled() and halved()[0] == np.float32(5e-40)
    with flushing_denormals() as supported:
        assert supported and flush_denormal_enabled()
        assert not halved().any()
        assert (np.full(8, 1e-30, np.float32) * np.float32(0.5) == np.float32(5e-31)).all()
    assert not flush_denormal_enabled() and halved()[0] == np.float32(5e-40)


@needs_support
def test_a_block_gives_back_the_mode_it_found() -> None:
    assert cr.set_flush_denormal(True) is True
    try:
        with flushing_denormals(False):
            assert not flush_denormal_enabled() and halved().all()
        assert flush_denormal_enabled()
    finally:
        set_flush_denormal(False)
    assert not flush_denormal_enabled()


@pytest.mark.parametrize("flush", [True, False])
def test_the_trainer_flushes_while_fitting_and_gives_the_mode_back(flush: bool) -> None:
    from chainrule.train import Trainer

    seen = []
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    y = np.arange(32) % 3
    model = cr.nn.MLP(4, [8], 3)
    trainer = Trainer(model, cr.nn.CrossEntropyLoss(), cr.optim.Adam(model.parameters()),
                      batch_size=8, reg=1e-3, progress=False, flush_denormal=flush,
                      callbacks=[lambda t, epoch, logs: seen.append(flush_denormal_enabled())])
    trainer.fit((x, y), None, epochs=2)
    assert seen == [flush and SUPPORTED] * 2
    assert not flush_denormal_enabled()
