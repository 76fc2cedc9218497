"""fastmlp: fast multilayer perceptrons on the CPU.

A C++ core (own packed GEMM with AVX-512/AVX2 micro-kernels, fused kernels, whole training
steps with the GIL released) behind a Keras-style API and scikit-learn drop-in estimators.
"""
from fastmlp import distributed, losses, ops, schedules
from fastmlp.callbacks import (
    BackupAndRestore,
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from fastmlp.check import gradcheck
from fastmlp.data import Standardizer, train_dev_test_split
from fastmlp.diagnosis import diagnose
from fastmlp.errors import DivergenceError, InvalidParameterError, SymmetryWarning
from fastmlp.io import load
from fastmlp.layers import (
    ELU,
    GELU,
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    GaussianNoise,
    Layer,
    LeakyReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Standardize,
    Tanh,
)
from fastmlp.lbfgs import fit_lbfgs
from fastmlp.models import Sequential
from fastmlp.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from fastmlp.runtime import build_info, get_num_threads, set_num_threads

__version__ = build_info()["version"]

__all__ = [
    "build_info", "get_num_threads", "set_num_threads", "ops", "distributed", "__version__",
    "schedules", "losses",
    "DivergenceError", "InvalidParameterError", "SymmetryWarning",
    "Dense", "Activation", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "Softmax", "ELU",
    "GELU", "SiLU", "Dropout", "BatchNorm", "GaussianNoise", "Standardize", "Layer",
    "SGD", "RMSprop", "Adam", "AdamW", "Optimizer",
    "Callback", "EarlyStopping", "LearningRateScheduler", "ReduceLROnPlateau", "ModelCheckpoint",
    "CSVLogger", "TerminateOnNaN", "History", "BackupAndRestore",
    "Sequential", "Standardizer", "train_dev_test_split", "diagnose", "gradcheck", "load",
    "fit_lbfgs",
]
