"""Column-ordered arrays and DataFrames train exactly like row-ordered arrays (one copy up front)."""

import gc
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import backproplab as bp
from backproplab import training


def _fit(X, y):
    net = bp.Network.mlp([4, 5, 1], output="sigmoid", loss="bce", seed=0)
    net.fit(X, y, max_epochs=3, batch_size=16, seed=0)
    return net.parameters()


def test_fortran_and_dataframe_inputs_give_the_same_weights_as_c_order():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    y = (X[:, :1] > 0).astype(float)
    reference = _fit(X, y)
    for data in (np.asfortranarray(X), pd.DataFrame(X, columns=list("abcd"))):
        for a, b in zip(_fit(data, y), reference):
            assert np.array_equal(a, b)


def test_the_trainer_gathers_batches_from_a_row_ordered_copy():
    rng = np.random.default_rng(1)
    X = np.asfortranarray(rng.normal(size=(50, 4)))
    net = bp.Network.mlp([4, 3, 1], seed=0)
    trainer = training.Trainer(net, training.FitConfig(max_epochs=1))
    trainer.prepare(X, np.zeros((50, 1)))
    assert trainer.X.flags.c_contiguous and not X.flags.c_contiguous
    C = np.ascontiguousarray(X)
    trainer = training.Trainer(net, training.FitConfig(max_epochs=1))
    trainer.prepare(C, np.zeros((50, 1)))
    assert trainer.X is C  # no copy when it is already row-ordered


def test_a_validation_split_of_a_column_ordered_x_gives_the_same_weights():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 4))
    y = (X[:, :1] > 0).astype(float)

    def fit(data):
        net = bp.Network.mlp([4, 5, 1], output="sigmoid", loss="bce", seed=0)
        history = net.fit(data, y, max_epochs=2, batch_size=16, seed=0, validation=0.25)
        return net.parameters(), history.val_loss

    weights, val_loss = fit(X)
    for data in (np.asfortranarray(X), pd.DataFrame(X)):
        other, other_val = fit(data)
        assert all(np.array_equal(a, b) for a, b in zip(other, weights)) and other_val == val_loss


def _copies_of_x(data, nbytes, **options):
    """(peak during fit, held after fit returns) of traced memory beyond the start, in copies of X;
    the collector is off, so whatever a reference cycle keeps shows as held."""
    net = bp.Network.mlp([25, 8, 1], output="sigmoid", loss="bce", seed=0)
    y = np.zeros((data.shape[0], 1))
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        net.fit(data, y, max_steps=50, batch_size=64, seed=0, progress=False, **options)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    return (peak - start) / nbytes, (held - start) / nbytes


@pytest.mark.parametrize("options", [{}, {"validation": 0.1}, {"schedule": "step"}],
                         ids=["plain", "validation", "schedule"])
def test_fit_makes_at_most_one_copy_of_x_and_none_of_a_row_ordered_x(options):
    # 40k x 25 float64 is 8 MB; everything else fit allocates here (an epoch's permutation, the
    # start loss on 4096 rows, the buffers) stays under a third of that
    X = np.random.default_rng(0).normal(size=(40_000, 25))
    peak, held = _copies_of_x(X, X.nbytes, **options)
    limit = 0.35 if not options.get("validation") else 1.35  # a split copies the rows it keeps
    assert peak < limit and held < 0.35
    for data in (np.asfortranarray(X), pd.DataFrame(X)):
        peak, held = _copies_of_x(data, X.nbytes, **options)
        # one row-ordered copy (or the split's rows, already row-ordered), and it is gone once fit
        # returns: a reference cycle kept it until the collector ran, so that repeated fits each
        # wrote a new copy into memory not touched before (1.35x C per step at 200k rows)
        assert peak < 1.35 and held < 0.35
