r"""Why does training stall? The diagnosis names the root cause first, shows the evidence and suggests
a remedy that fits the run.

Two doors lead in: :func:`diagnose_record` reads a :class:`~backproplab.runrecord.RunRecord` (the
evidence any run leaves, e.g. from a :class:`~backproplab.probe.Probe` on a hand-written loop), and
:func:`diagnose` turns a backproplab Network and its History into a RunRecord first, then adds the
checks only a live network allows. Every finding has a stable ``code``, a ``severity`` ("info",
"warning" or "error"), a ``message``, the ``evidence`` (plain numbers), a ``suggestion`` and
``because_of`` (the finding that explains it; see :mod:`.ordering` for the causal rules). Numbers in
sentences go through :mod:`backproplab._format` (3 significant digits, capped ratios).

Thresholds (constants in :mod:`.findings`); "good fit" means a final loss at most ``GOOD_FIT`` (10%)
of the constant baseline's, which turns the data-scaling and "not converged" warnings into info:

=======================  ==========================================================================
code                     fires when
=======================  ==========================================================================
gradient_mismatch        a finite-difference gradient check fails: the record's ``gradient_check``,
                         or, for a network with a custom layer or loss, one run here (16 rows, 20
                         entries per array)
constant_target          every target row is the same (error; the other rules are skipped)
symmetric_units          in a hidden layer at least ``SYMMETRIC_FRACTION`` (50%) of the units have
                         exactly the same incoming weights as another unit (needs the weights)
unscaled_inputs          feature peak magnitudes (max abs x) differ more than ``SCALE_RATIO``
                         (100x), or a feature's abs mean exceeds both 1 and ``MEAN_TO_STD`` (5) stds
unscaled_targets         regression targets with abs mean or std above ``TARGET_SCALE`` (10), or a
                         std below ``TARGET_TINY`` (0.01)
no_signal                the control network (see :mod:`.controls`) on row-shuffled targets ends
                         less than ``SIGNAL_MARGIN`` (10% of the baseline loss) worse than on the
                         real targets, cross-validated or on held-out rows (>= 20 rows needed)
label_leak               one feature alone explains at least ``LEAK_R2`` (99.9%) of the target's
                         variance: squared linear or rank correlation (regression) or correlation
                         ratio eta^2 (classes); needs >= 20 rows and >= 2 features
exploding_gradient       a non-finite gradient norm, a weight matrix's norm above ``EXPLODING_NORM``
                         (1e3), or first/last layer norm above ``EXPLODING_RATIO`` (1e2), at
                         initialisation, early or now
lr_too_large             the loss became non-finite (error); or it rose over the run (> 5%), or
                         oscillated (late in the run over 45% of (block-averaged) points went up,
                         the typical jump exceeds 30% of the level, above 5% of the start)
vanishing_gradient       first-layer over last-layer gradient norm below ``VANISHING_RATIO`` (1e-2)
                         at initialisation (the run's step 0, or a re-initialised copy), early, or
                         now (not judged "now" after a good fit, where every gradient is tiny)
saturated_units          a hidden sigmoid/tanh layer with over ``SATURATED_FRACTION`` (50%) of its
                         outputs in the flat tails (see ``monitor.SATURATION``); info after a good
                         fit (confident units on separable data); unit fractions need >= 20 rows
dead_units               a hidden ReLU layer with at least ``DEAD_FRACTION`` (25%) of its units zero
                         for every training row (given at least ``DEAD_MIN_ROWS`` = 20 rows; info
                         after a good fit with under ``DEAD_FRACTION_FIT`` = 50% dead); when
                         the early per-step update ratio exceeded ``UPDATE_RATIO_HIGH`` (0.1), an
                         lr_too_large finding names the step size as what killed them
loss_task_mismatch       0/1 class labels with a squared/absolute-error loss; 3-20 consecutive
                         integer labels in one column with a regression loss; bce on targets
                         outside [0, 1] (error)
bad_initial_loss         classification, the loss at step 0 above ``BAD_INIT_FACTOR`` (3x) the
                         uniform guess's ln K (ln 2 per output for bce) and above it by more than
                         ``BAD_INIT_MARGIN`` (2 nats); for a network, the median of ``INIT_COPIES``
                         (5) re-initialised copies, and the run's own first step when it is known
lr_too_small             (network, History) stopped by a budget with the loss less than halved, and
                         a probe on a copy shows f = 10x (or 100x) the lr gives over f/2 times the
                         improvement, and over 5% of the loss, in the same steps (<= 1000)
lr_from_update_ratio     the median late per-step update-to-weight ratio ||dW|| / ||W|| across
                         layers is below ``UPDATE_RATIO_LOW`` (1e-5) or above ``UPDATE_RATIO_HIGH``
                         (0.1), i.e. 100x off the ~1e-3 rule of thumb, and the run neither fits well
                         nor matches the control (training loss within ``CONTROL_MATCH`` = 10% of
                         the control network's)
loose_stopping_rule      the user's stop criterion fell ``STOP_CRITERION_DROP`` (10x) over the
                         second half of the run while the loss fell less than ``STOP_LOSS_DROP``
                         (10%); or (network, not a good fit) stopped by grad_norm_below/loss_below
                         and 3x as many more steps (500 to 5000) of the same optimiser lower the loss
                         by over ``LOOSE_STOP_GAIN`` (25%)
overfitting              the smoothed validation loss ends over ``OVERFIT_RISE`` (10%) above its
                         minimum while the training loss kept falling (info when early stopping
                         restored the best weights)
not_converged            stopped by a budget (or the record just ends) while the last tenth of the
                         run still improved the loss by over 1% (and it is above 0.1% of its start);
                         info when the run fits well or matches the control
no_better_than_baseline  final loss >= ``BASELINE_FRACTION`` (0.8) of the best constant
                         predictor's (mean / median / class prior); error at >= 0.98; under
                         ``L2_STRONG`` (l2 >= 0.1) it is the root cause of the units' and updates' state
=======================  ==========================================================================

A healthy run (scaled data, a fitting loss, sensible initialisation and learning rate, converged)
gets no warning or error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..monitor import GradientFlow
from .entry import diagnose
from .facts import as_targets, baseline_of
from .findings import TITLES, Diagnosis, Finding
from .record import diagnose_record

__all__ = ["Finding", "Diagnosis", "diagnose", "diagnose_record", "GradientFlow", "baseline_loss", "TITLES"]


def baseline_loss(net: Any, y: np.ndarray) -> float:
    """The loss of the best constant prediction; ``net`` is a Network or a loss name, ``y`` the targets
    (already prepared for the loss, or class indices)."""
    name = net if isinstance(net, str) else net.loss_fn.name
    return baseline_of(name, as_targets(y, name))
