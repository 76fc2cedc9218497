"""``TerminateOnNaN``: stop, without an exception, when the loss stops being finite."""
from __future__ import annotations

import math

from fastmlp.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stop training without an exception when the training loss stops being finite.

    Without it ``fit`` raises :class:`DivergenceError` in that epoch; with it ``fit`` prints
    Keras' "Invalid loss, terminating training" line and returns the history. Either way the
    model holds the weights from the start of the diverged epoch. It also stops after an epoch
    whose logged ``loss`` is not finite (a value another callback put there), as in loops of
    your own.
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {epoch + 1}: Invalid loss, terminating training")
            if self.model is not None:
                self.model.stop_training = True
            return True
        return False
