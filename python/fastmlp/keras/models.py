"""``keras.Sequential`` and ``keras.models.load_model`` over fastmlp's ``Sequential``.

The model is the native one (same engine, same weights, same files); this class only takes
Keras' argument order and defaults: ``compile(optimizer="rmsprop", loss=None, metrics=None)``
with Keras' optimizer defaults and ``from_logits``, ``fit(x, y, batch_size, epochs, ...)``,
``evaluate`` returning the loss (or ``[loss, *metrics]``) unless ``return_dict=True``, and
``predict(x, batch_size, verbose, steps)``.
"""
from __future__ import annotations

import os

import numpy as np

from fastmlp._validation import batch_rows
from fastmlp.keras._compat import next_model_seed, refuse_unsupported
from fastmlp.keras.layers import Input
from fastmlp.keras.losses import get as get_loss
from fastmlp.keras.metrics import get as get_metric
from fastmlp.keras.optimizers import get as get_optimizer
from fastmlp.metrics import resolve_metrics
from fastmlp.models import Sequential as _Sequential
from fastmlp.saving import read_model_file
from fastmlp.trainers.batch_source import BatchSource, is_batch_source, split_batch

__all__ = ["Sequential", "Input", "load_model"]


class Sequential(_Sequential):
    """``keras.Sequential([keras.Input(shape=(d,)), layers.Dense(...), ...])``: built at
    construction when the input size is known."""

    def __init__(self, layers=None, trainable=True, name=None, *, input_dim=None,
                 dtype="float32", seed=None):
        refuse_unsupported("Sequential", trainable=not trainable)
        layers = list(layers or [])
        if layers and isinstance(layers[0], Input):
            if input_dim is not None and input_dim != layers[0].input_dim:
                raise ValueError(f"input_dim={input_dim} differs from the Input's shape "
                                 f"{layers[0].shape}")
            input_dim = layers.pop(0).input_dim
        if any(isinstance(layer, Input) for layer in layers):
            raise ValueError("keras.Input must be the first element of a Sequential model")
        self.name = name
        if seed is None:
            seed = next_model_seed()
        super().__init__(layers, input_dim=input_dim, dtype=dtype, seed=seed)

    def add(self, layer) -> None:
        if isinstance(layer, Input):
            if self._layers or self.built:
                raise ValueError("keras.Input must come before every layer")
            self._input_dim = layer.input_dim
            return
        super().add(layer)

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Keras' compile: ``loss`` a Keras name or ``keras.losses`` object (``from_logits``
        checked against the last layer), ``optimizer`` a name (Keras' defaults) or object."""
        refuse_unsupported("compile", loss_weights=loss_weights,
                           weighted_metrics=weighted_metrics,
                           steps_per_execution=steps_per_execution - 1)
        if loss is None:
            raise ValueError("compile needs a loss (fastmlp trains with a built-in loss)")
        keras_loss = get_loss(loss)
        self._check_from_logits(keras_loss)
        pairs = [get_metric(m) for m in metrics or []]
        super().compile(keras_loss.engine_loss(), get_optimizer(optimizer),
                        metrics=[engine for engine, _ in pairs])
        # Logged as Keras logs them: under the names given, and only the metrics asked for
        # (native fit always reports accuracy for the classification losses).
        self._keras_names = {}
        for engine, keras_name in pairs:
            key = resolve_metrics([engine], self._compile_config.loss)[0]
            self._keras_names.setdefault(key, keras_name)

    def _metric_logs(self, totals) -> dict:
        logs = super()._metric_logs(totals)
        names = getattr(self, "_keras_names", None)
        if names is None:                   # loaded from a file: the native keys
            return {k: v for k, v in logs.items() if k in self._compile_config.metrics}
        return {names[k]: v for k, v in logs.items() if k in names}

    def _check_from_logits(self, loss) -> None:
        if loss.link is None:
            return
        last = self._layers[-1].activation_name if self._layers else None
        if loss.from_logits and last == loss.link:
            raise ValueError(f"{type(loss).__name__}(from_logits=True), but the model ends "
                             f"with a {loss.link}: Keras would apply it twice. Use "
                             f"from_logits=False (the {loss.link} is then fused into the "
                             f"loss) or drop the {loss.link}")
        if not loss.from_logits and last != loss.link:
            raise ValueError(f"{type(loss).__name__} with from_logits=False expects the model "
                             f"to end with a {loss.link} (activation={loss.link!r}), but it "
                             f"ends with {last or 'a linear layer'}: add the {loss.link}, or "
                             f"pass from_logits=True if the model outputs logits")

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Keras' fit (its argument order): x arrays with y, or batches (generator, dataset,
        DataLoader) of ``(x, y[, sample_weight])``."""
        return super().fit(x, y, epochs=epochs, batch_size=batch_size,
                           validation_split=validation_split, validation_data=validation_data,
                           shuffle=shuffle, callbacks=callbacks, verbose=verbose,
                           sample_weight=sample_weight, class_weight=class_weight,
                           initial_epoch=initial_epoch, validation_freq=validation_freq,
                           steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
                           validation_batch_size=validation_batch_size)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss, or ``[loss, *metrics]`` (the metrics compiled, in order), or with
        ``return_dict=True`` the dict."""
        refuse_unsupported("evaluate", callbacks=callbacks)
        logs = super().evaluate(x, y, batch_size=batch_size, sample_weight=sample_weight,
                                return_dict=True, steps=steps)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x`` (an array, or batches whose first element is x), as
        Keras returns them: probabilities after a final softmax/sigmoid, logits for a model
        compiled ``from_logits=True`` (native ``predict`` applies the loss's link there)."""
        net = self._net
        if net is not None and type(x) is np.ndarray and batch_size is None and x.ndim == 2 \
                and x.size and x.shape[1] == self._input_dim and x.dtype == self._dtype \
                and x.flags.c_contiguous and steps is None and callbacks is None:
            # Already what the engine takes (the latency path, as native predict's): it
            # checks shape and finiteness itself.
            return net.predict(x, False, self._engine_fused, True)
        refuse_unsupported("predict", callbacks=callbacks)
        if not is_batch_source(x):
            if steps is not None:
                raise ValueError("predict: steps is for x given as batches (a generator, a "
                                 "dataset)")
            return self._keras_outputs(x, batch_size)
        parts = [self._keras_outputs(split_batch(b, "x", with_targets=False)[0], None)
                 for b in BatchSource(x, steps, "x").epoch()]
        if not parts:
            raise ValueError("predict: x yielded no batches")
        return np.concatenate(parts)

    def _keras_outputs(self, x, batch_size):
        X = self._convert_X(x)          # checked: 2-D, finite, the model's dtype
        rows = batch_rows(batch_size, len(X), "predict")
        # The engine applies the link only where the model's own softmax/sigmoid was fused.
        return self._predict_in_batches(X, False, self._fuses_link(), False, rows)

    def __call__(self, x, training=False):
        if training:
            return super().__call__(x, training=True)
        return self._keras_outputs(x, None)

    def __repr__(self):
        return "keras." + super().__repr__()


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved by ``model.save`` (``fastmlp.keras`` or native), as a keras.Sequential
    (compiled as it was saved; ``compile=False`` changes nothing: a model ending in a fused
    softmax must keep its loss to predict probabilities)."""
    refuse_unsupported("load_model", custom_objects=custom_objects)
    try:
        return Sequential.from_bytes(read_model_file(filepath))
    except ValueError as exc:
        raise ValueError(f"cannot load fastmlp model from {os.fspath(filepath)!r}: "
                         f"{exc}") from None
