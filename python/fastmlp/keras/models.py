"""``keras.Sequential`` and ``keras.models.load_model`` over fastmlp's ``Sequential``.

The model is the native one (same engine, same weights, same files); this class only takes
Keras' argument order and defaults: ``compile(optimizer="rmsprop", loss=None, metrics=None)``
with Keras' optimizer defaults and ``from_logits``, ``fit(x, y, batch_size, epochs, ...)``,
``evaluate`` returning the loss (or ``[loss, *metrics]``) unless ``return_dict=True``, and
``predict(x, batch_size, verbose, steps)``; layer names (``get_layer``, ``summary``), kept
in the file with the Keras classes and metric names.

Files are fastmlp's own format (``fastmlp.saving``: one file, JSON header and raw arrays,
whatever the name, ``.keras`` included): ``fm.load`` reads them too, Keras cannot, and Keras'
own ``.keras``/``.h5`` files are refused with a clear error (rebuild the model here and copy
the weights with ``set_weights(keras_model.get_weights())``).
"""
from __future__ import annotations

import os
import weakref
from collections.abc import Mapping

import numpy as np

from fastmlp._validation import batch_rows
from fastmlp.keras._compat import auto_name, check_name, next_model_seed, refuse_unsupported
from fastmlp.keras.layers import KERAS_LAYERS, Flatten, Input, sample_shape
from fastmlp.keras.losses import get as get_loss
from fastmlp.keras.metrics import get as get_metric
from fastmlp.keras.optimizers import get as get_optimizer
from fastmlp.metrics import resolve_metrics
from fastmlp.models import Sequential as _Sequential
from fastmlp.saving import read_model_file, read_model_parts
from fastmlp.trainers.batch_source import BatchSource, is_batch_source, split_batch

__all__ = ["Sequential", "Input", "load_model"]


class Sequential(_Sequential):
    """``keras.Sequential([keras.Input(shape=(d,)), layers.Dense(...), ...])``: built at
    construction when the input size is known. With ``Flatten()`` first, samples of any shape
    (``Input(shape=(28, 28))``) are flattened on the way in."""

    _sample_shape = None        # a sample's shape from Input or the first Flatten, if given

    def __init__(self, layers=None, trainable=True, name=None, *, input_dim=None,
                 dtype="float32", seed=None):
        refuse_unsupported("Sequential", trainable=not trainable)
        layers = list(layers or [])
        if layers and isinstance(layers[0], Input):
            if input_dim is not None and input_dim != layers[0].input_dim:
                raise ValueError(f"input_dim={input_dim} differs from the Input's shape "
                                 f"{layers[0].shape}")
            self._sample_shape = layers[0].shape
            input_dim = layers.pop(0).input_dim
        if any(isinstance(layer, Input) for layer in layers):
            raise ValueError("keras.Input must be the first element of a Sequential model")
        self.name = auto_name("Sequential") if name is None else check_name(name, "Sequential")
        if seed is None:
            seed = next_model_seed()
        super().__init__(layers, input_dim=input_dim, dtype=dtype, seed=seed)

    def add(self, layer) -> None:
        if isinstance(layer, Input):
            if self._layers or self.built:
                raise ValueError("keras.Input must come before every layer")
            self._input_dim, self._sample_shape = layer.input_dim, layer.shape
            return
        super().add(layer)

    def _append(self, layer) -> None:
        if not self._layers:
            self._take_sample_shape(layer)
        name = getattr(layer, "_layer_name", None)
        if name is not None and any(other._layer_name == name for other in self._layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. "
                             f"Name {name!r} is already the name of a layer in this model. "
                             f"Update the `name` argument to pass a unique name.")
        super()._append(layer)
        if name is None:        # a native fastmlp layer: named as Keras names every layer
            layer._layer_name = auto_name(type(layer).__name__)

    def _take_sample_shape(self, first) -> None:
        """The first layer and the samples' shape: more than one axis needs a Flatten there
        (Dense takes feature vectors); a Flatten's ``input_shape`` is the shape."""
        hint = getattr(first, "sample_shape", None) if isinstance(first, Flatten) else None
        if hint is not None:
            if self._sample_shape is not None and self._sample_shape != hint:
                raise ValueError(f"Flatten(input_shape={hint}) differs from the Input's "
                                 f"shape {self._sample_shape}")
            self._sample_shape = hint
        if self._sample_shape is not None and len(self._sample_shape) > 1 \
                and not isinstance(first, Flatten):
            raise ValueError(f"samples of shape {self._sample_shape} need a Flatten() as the "
                             f"first layer (Dense takes feature vectors in fastmlp.keras)")

    def _flattens_input(self) -> bool:
        return bool(self._layers) and isinstance(self._layers[0], Flatten)

    def _convert_X(self, X, name="X"):
        if self._flattens_input():
            X = X if isinstance(X, np.ndarray) else np.asarray(X)
            if X.ndim > 2:
                if self._sample_shape is not None and X.shape[1:] != self._sample_shape:
                    raise ValueError(f"{name} has samples of shape {X.shape[1:]}, the model "
                                     f"takes {self._sample_shape}")
                X = X.reshape(len(X), -1)
        return super()._convert_X(X, name)

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or at position ``index`` (Keras' ``get_layer``)."""
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        if index is not None:
            if len(self._layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model "
                                 f"only has {len(self._layers)} layers.")
            return self._layers[index]
        if name is not None:
            for layer in self._layers:
                if layer._layer_name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer._layer_name for layer in self._layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Keras' table: ``name (Class)``, output shape, parameter count, then the totals
        with their size in bytes."""
        refuse_unsupported("summary", layer_range=layer_range)
        d, known, rows = self._input_dim, self._input_dim is not None, []
        for layer in self._layers:
            n = sum(int(np.prod(s)) for _, s, _ in layer.param_specs(d)) if known else "?"
            if d is not None:
                d = layer.output_dim(d)
            rows.append((f"{layer._layer_name} ({type(layer).__name__})",
                         f"(None, {'?' if d is None else d})", str(n)))
        first = max([len(r[0]) + 3 for r in rows] + [30])
        width = max(line_length or 0, first + 36)

        def row(name, shape, params):
            return f" {name:<{first - 1}}{shape:<25}{params}"

        lines = [f'Model: "{self.name}"', "_" * width,
                 row("Layer (type)", "Output Shape", "Param #"), "=" * width]
        lines += [row(*r) for r in rows]
        lines.append("=" * width)
        size = np.dtype(self._dtype).itemsize
        specs = self._param_specs() if known else []
        total = sum(int(np.prod(s)) for _, _, s, _ in specs)
        trainable = sum(int(np.prod(s)) for _, _, s, t in specs if t)
        for label, count in (("Total", total), ("Trainable", trainable),
                             ("Non-trainable", total - trainable)):
            lines.append(f" {label} params: {count} ({_readable_bytes(count * size)})")
        (print_fn or print)("\n".join(lines))

    def get_config(self) -> dict:
        """The native config, plus what Keras code reads back: the model's and layers' names,
        the Keras layer classes, the metric names."""
        cfg = super().get_config()
        cfg["name"] = self.name
        if self._sample_shape is not None:
            cfg["sample_shape"] = list(self._sample_shape)
        for entry, layer in zip(cfg["layers"], self._layers):
            entry["name"] = layer._layer_name
            if type(layer).__name__ in KERAS_LAYERS:
                entry["keras_class"] = type(layer).__name__
        names = getattr(self, "_keras_names", None)
        if cfg["compile"] is not None and names is not None:
            cfg["compile"]["keras_metrics"] = [[k, v] for k, v in names.items()]
        return cfg

    @classmethod
    def from_config(cls, config: dict):
        model = super().from_config(config)
        if config.get("sample_shape") is not None:
            model._sample_shape = sample_shape(config["sample_shape"], "sample_shape")
        name = config.get("name")
        if name is not None:
            model.name = check_name(name, "Sequential")
        comp = config.get("compile") or {}
        if "keras_metrics" in comp:
            pairs = comp["keras_metrics"]
            if not (isinstance(pairs, list) and all(
                    isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
                    for p in pairs)):
                raise ValueError("invalid model config: keras_metrics is not a list of "
                                 "[engine key, Keras name] pairs")
            model._keras_names = dict(pairs)
        return model

    @classmethod
    def _layer_from_config(cls, entry):
        keras_cls = KERAS_LAYERS.get(entry.get("keras_class"))
        name = entry.get("name")
        if keras_cls is not None and keras_cls._saved_class == entry["class"]:
            return keras_cls.from_saved(entry.get("config", {}), name)
        layer = super()._layer_from_config(entry)
        if name is not None:
            layer._layer_name = check_name(name, "layer")
        return layer

    def save(self, filepath, overwrite=True, zipped=None):
        """Write the model to ``filepath`` in fastmlp's format (whatever the extension; see
        the module docstring). ``overwrite=False`` refuses an existing file."""
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{os.fspath(filepath)!r} exists and overwrite=False")
        super().save(filepath)

    def save_weights(self, filepath, overwrite=True):
        """Keras' ``save_weights``: writes the model file (fastmlp's format, whatever the
        extension, ``.weights.h5`` included), of which :meth:`load_weights` reads the
        weights."""
        self.save(filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """The weights of a file ``save_weights`` or ``save`` wrote (their count and shapes
        checked against this model; optimizer state and compile settings left as they are)."""
        refuse_unsupported("load_weights", skip_mismatch=skip_mismatch)
        _, weights, _ = _read_parts(filepath)
        self.set_weights(weights)

    @property
    def input_shape(self):
        if self._flattens_input() and self._sample_shape is not None:
            return (None, *self._sample_shape)
        return (None, self._input_dim)

    @property
    def output_shape(self):
        return (None, self.output_dim)

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
        optimizer = get_optimizer(optimizer)
        super().compile(keras_loss.engine_loss(), optimizer,
                        metrics=[engine for engine, _ in pairs])
        optimizer._model_ref = weakref.ref(self)    # its learning_rate reads the rate in use
        # Logged as Keras logs them: under the names given, and only the metrics asked for
        # (native fit always reports accuracy for the classification losses).
        self._keras_names = {}
        for engine, keras_name in pairs:
            key = resolve_metrics([engine], self._compile_config.loss)[0]
            self._keras_names.setdefault(key, keras_name)

    def _compile_engine(self, net):
        super()._compile_engine(net)
        # Keras' metrics count every row once whatever the sample or class weights (only its
        # weighted_metrics are weighted); the loss stays weighted.
        for engine in {id(net): net, id(self._net): self._net}.values():
            if engine is not None:
                engine.weighted_metrics = False

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
        DataLoader) of ``(x, y[, sample_weight])``. ``validation_split`` holds out the last
        rows (before any shuffling), as Keras does; ``class_weight`` weights the training rows
        only."""
        if validation_split and validation_data is None and not is_batch_source(x):
            (x, y, sample_weight), validation_data = _split_last_rows(x, y, sample_weight,
                                                                      validation_split)
            validation_split = 0.0
        history = super().fit(x, y, epochs=epochs, batch_size=batch_size,
                              validation_split=validation_split,
                              validation_data=validation_data, shuffle=shuffle,
                              callbacks=callbacks, verbose=verbose,
                              sample_weight=sample_weight, class_weight=class_weight,
                              initial_epoch=initial_epoch, validation_freq=validation_freq,
                              steps_per_epoch=steps_per_epoch,
                              validation_steps=validation_steps,
                              validation_batch_size=validation_batch_size)
        # Keras' params beside the native ones: verbose, epochs, steps (per epoch).
        params = history.params
        steps = steps_per_epoch
        if steps is None and params.get("samples"):
            steps = -(-params["samples"] // (params.get("batch_size") or 32))
        params.update(verbose=verbose, steps=steps)
        return history

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


def _split_last_rows(x, y, sample_weight, fraction):
    """Keras' ``train_validation_split``: the first ``floor(n * (1 - fraction))`` rows train,
    the rest validate (with their sample weights)."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction!r}")
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    split_at = int(np.floor(n * (1.0 - fraction)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"validation_split={fraction} leaves {split_at} training and "
                         f"{n - split_at} validation samples out of {n}; both need at least "
                         f"one")
    parts = [x, y] + ([] if sample_weight is None else [np.asarray(sample_weight)])
    val = tuple(a[split_at:] for a in parts)
    return (x[:split_at], y[:split_at],
            None if sample_weight is None else parts[2][:split_at]), val


def _readable_bytes(n: float) -> str:
    """Keras' summary sizes: ``440.00 B``, ``1.21 KB`` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.2f} {unit}"
        n /= 1024


# The first bytes of Keras' own formats: a .keras zip archive, an HDF5 .h5 file.
_KERAS_MAGIC = {b"PK\x03\x04": "a Keras .keras archive", b"\x89HDF\r\n\x1a\n": "an HDF5 (.h5) file"}


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved by ``model.save`` (``fastmlp.keras`` or native), as a keras.Sequential
    with its layer names. ``compile=True``: compiled as saved, optimizer state included;
    ``compile=False``: uncompiled (a final softmax/sigmoid stays a layer, so ``predict``
    returns the same probabilities). ``custom_objects`` (a mapping) is accepted and not
    needed: the files hold only built-in layers, losses and optimizers, and loading runs no
    code whatever ``safe_mode`` says."""
    if custom_objects is not None and not isinstance(custom_objects, Mapping):
        raise TypeError(f"load_model: custom_objects must be a dict, got "
                        f"{type(custom_objects).__name__}")
    config, weights, state = _read_parts(filepath)
    if not compile:
        config, state = {**config, "compile": None}, None
    try:
        return Sequential._from_parts(config, weights, state)
    except ValueError as exc:
        raise ValueError(f"cannot load fastmlp model from {os.fspath(filepath)!r}: "
                         f"{exc}") from None


def _read_parts(filepath):
    """``(config, weights, optimizer_state)`` of a fastmlp model file, with a clear error for
    Keras' own formats."""
    where = f"cannot load fastmlp model from {os.fspath(filepath)!r}"
    try:
        data = read_model_file(filepath)
    except ValueError as exc:
        with open(filepath, "rb") as fh:
            head = fh.read(8)
        for magic, what in _KERAS_MAGIC.items():
            if head.startswith(magic):
                raise ValueError(f"{where}: it looks like {what}, as Keras writes. "
                                 f"fastmlp.keras reads only files fastmlp wrote (model.save); "
                                 f"rebuild the model here and copy the weights with "
                                 f"model.set_weights(keras_model.get_weights())") from None
        raise ValueError(f"{where}: {exc}") from None
    try:
        return read_model_parts(data)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
