"""Schedules against hand-computed values of each published definition."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lattn_jax as lj
from lattn_jax._schedules._schedule import schedule_from_name


def _value(schedule, n):
    return float(schedule(jnp.asarray(n, jnp.float32)))


@pytest.mark.parametrize(
    ("schedule", "n", "expected"),
    [
        # Qwen-1: max(1, log_L n); 2^15 keys over L = 2^13 gives 15/13.
        (lj.QwenLogN(train_length=8192.0), 2.0**15, 15 / 13),
        (lj.QwenLogN(train_length=8192.0), 4096.0, 1.0),
        (lj.QwenLogN(2.0, 1024.0), 2.0**20, 4.0),
        # YaRN: (0.1 ln s + 1)^2; dynamic s = n / L = e gives 1.1^2.
        (lj.YaRN(train_length=4096.0), 4096.0 * math.e, 1.21),
        (lj.YaRN(train_length=4096.0), 1000.0, 1.0),
        (lj.YaRN(scale=32.0), 10.0, (0.1 * 5 * math.log(2) + 1) ** 2),
        # LongRoPE / Phi-3: 1 + ln s / ln L; s = 64, L = 4096 gives 1 + 6/12.
        (lj.LongRoPE(train_length=4096.0), 64 * 4096.0, 1.5),
        (lj.LongRoPE(scale=32.0), 10.0, 1 + 5 / 12),
        (lj.LongRoPE(3.0, 4096.0), 100.0, 3.0),
        # SSMax: s ln n.
        (lj.ScalableSoftmax(), math.exp(10.0), 4.3),
        (lj.ScalableSoftmax(2.0, 1.0), math.exp(3.0), 6.0),
        # Llama 4: 1 + 0.1 ln(1 + floor(n / 8192)), n = p + 1.
        (lj.Llama4(), 8191.0, 1.0),
        (lj.Llama4(), 8192.0, 1 + 0.1 * math.log(2)),
        (lj.Llama4(), 7 * 8192.0 + 5, 1 + 0.1 * math.log(8)),
        (lj.PowerLaw(2.0, 0.5), 1e4, 200.0),
        (lj.Constant(8.0), 1e7, 8.0),
    ],
)
def test_schedule_values(schedule, n, expected):
    assert _value(schedule, n) == pytest.approx(expected, rel=2e-6)


def test_schedules_take_arrays_and_jit():
    ns = jnp.asarray([1e3, 1e5, 1e7], jnp.float32)
    for schedule in [lj.QwenLogN(), lj.YaRN(), lj.LongRoPE(), lj.ScalableSoftmax(), lj.Llama4(), lj.PowerLaw(1.0, 1.0)]:
        out = jax.jit(lambda s, n: s(n))(schedule, ns)
        assert out.shape == (3,)
        np.testing.assert_allclose(out, [_value(schedule, n) for n in [1e3, 1e5, 1e7]], rtol=1e-6)


def test_parameters_are_differentiable():
    n = jnp.asarray(1e4, jnp.float32)
    grads = eqx.filter_grad(lambda s: s(n))(lj.PowerLaw(2.0, 0.5))
    assert float(grads.log_prefactor) == pytest.approx(200.0, rel=1e-5)  # d beta / d log c = beta
    assert float(grads.exponent) == pytest.approx(200.0 * math.log(1e4), rel=1e-5)  # beta ln n
    grads = eqx.filter_grad(lambda s: s(n))(lj.ScalableSoftmax(1.0, jnp.asarray(0.43)))
    assert float(grads.s) == pytest.approx(math.log(1e4), rel=1e-6)


@pytest.mark.parametrize(
    ("spec", "n", "expected"),
    [
        ("qwen", 2.0**15, 8 * 15 / 13),
        ("qwen:1024", 2.0**20, 16.0),
        ("yarn", 4096.0 * math.e, 8 * 1.21),
        ("longrope:4096", 64 * 4096.0, 12.0),
        ("ssmax:0.5", math.exp(2.0), 8.0),
        ("llama4", 8192.0, 8 * (1 + 0.1 * math.log(2))),
        ("llama4:0.2,100", 300.0, 8 * (1 + 0.2 * math.log(4))),
        ("constant:2", 1e6, 16.0),
        ("power:2,0.5", 100.0, 20.0),
    ],
)
def test_schedule_from_name(spec, n, expected):
    assert _value(schedule_from_name(spec, base=8.0), n) == pytest.approx(expected, rel=2e-6)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rope", "unknown schedule 'rope'"),
        ("constant", "expected 1 finite number"),
        ("power:2", "expected 2 finite number"),
        ("qwen:abc", "comma-separated numbers"),
        ("llama4:0.1", "expected 0 or 2"),
        ("constant:nan", "finite"),
        ("constant:-1", "beta must be finite and > 0"),
        ("qwen:1", "train_length must be > 1"),
    ],
)
def test_schedule_name_errors(spec, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        schedule_from_name(spec, base=8.0)


def test_bad_parameters():
    with pytest.raises(ValueError, match="prefactor must be finite and > 0"):
        lj.PowerLaw(0.0, 1.0)
    with pytest.raises(ValueError, match="scale must be finite and > 0"):
        lj.YaRN(scale=-2.0)
    with pytest.raises(TypeError, match="schedule must be a name"):
        schedule_from_name(3)
