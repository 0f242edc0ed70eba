"""Column-ordered arrays and DataFrames train exactly like row-ordered arrays (one copy up front)."""

import numpy as np
import pandas as pd

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
