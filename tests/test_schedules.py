"""Learning-rate schedules: formulas, validation, config round trip."""
import math

import pytest

import fastmlp as fm
from fastmlp.schedules import CosineDecay, ExponentialDecay, StepDecay


def test_step_decay_matches_torch_steplr_formula():
    s = StepDecay(0.1, step_size=3, gamma=0.5)
    assert [s(e) for e in range(7)] == pytest.approx([0.1] * 3 + [0.05] * 3 + [0.025])


def test_exponential_decay_smooth_and_staircase():
    s = ExponentialDecay(1.0, decay_rate=0.5, decay_epochs=2)
    assert s(1) == pytest.approx(0.5 ** 0.5)
    st = ExponentialDecay(1.0, decay_rate=0.5, decay_epochs=2, staircase=True)
    assert [st(e) for e in range(5)] == pytest.approx([1, 1, 0.5, 0.5, 0.25])


def test_cosine_decay_endpoints_and_flat_after():
    s = CosineDecay(0.2, decay_epochs=10, min_lr=0.02)
    assert s(0) == pytest.approx(0.2)
    assert s(5) == pytest.approx(0.11)
    assert s(10) == pytest.approx(0.02) and s(50) == pytest.approx(0.02)
    assert all(s(e) >= s(e + 1) for e in range(12))


@pytest.mark.parametrize("make, arg", [
    (lambda: StepDecay(0.0, 3), "initial_lr"),
    (lambda: StepDecay(0.1, 0), "step_size"),
    (lambda: ExponentialDecay(0.1, -1.0), "decay_rate"),
    (lambda: CosineDecay(0.1, 0), "decay_epochs"),
    (lambda: CosineDecay(0.1, 5, min_lr=-1.0), "min_lr"),
])
def test_invalid_arguments_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


@pytest.mark.parametrize("s", [StepDecay(0.1, 2, 0.3), ExponentialDecay(0.1, 0.9),
                               CosineDecay(0.1, 7, 0.001)])
def test_config_roundtrip(s):
    t = type(s).from_config(s.get_config())
    assert t == s and all(math.isclose(t(e), s(e)) for e in range(10))


def test_optimizer_accepts_schedule_and_callable():
    opt = fm.SGD(lr=StepDecay(0.1, 1, 0.5))
    assert opt.lr_at(2) == pytest.approx(0.025)
    assert fm.Adam(lr=lambda e: 0.1 / (1 + e)).lr_at(1) == pytest.approx(0.05)
    cfg = opt.get_config()
    assert cfg["lr"]["class"] == "StepDecay"
    assert type(opt).from_config(cfg).lr == opt.lr
    with pytest.raises(ValueError, match="plain callable"):
        fm.Adam(lr=lambda e: 0.1).get_config()
    with pytest.raises(ValueError, match="schedule"):
        fm.Adam(lr=lambda e: -1.0).lr_at(0)
