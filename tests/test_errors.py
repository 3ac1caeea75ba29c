"""Bad input everywhere: every public function of ``lattn_jax`` and
``lattn_jax.theory`` and every ``lattn`` command rejects wrong types, ranges,
shapes, NaN/inf, empty arrays and unknown names at call time, with a
``ValueError``/``TypeError`` whose message names the argument and what is
allowed; the CLI exits 2 with one line and no traceback.

``test_every_public_function_is_audited`` fails when a public function is added
without a case here, so the audit keeps up with the API."""

import contextlib
import inspect
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lattn_jax as lj
from lattn_jax import theory
from lattn_jax.cli import main

KEY = jax.random.key(0)
LAW = lj.UniformSphere(3)
Q = jnp.array([1.0, 0.0, 0.0])
KEYS = LAW.sample(KEY, 5)
SETTINGS = settings(max_examples=30, deadline=None)

# Bad values, by what the argument should be.
not_a_number = st.one_of(st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=2), st.just(object()))
non_integral = st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not np.isfinite(x) or x != int(x))


def bad_count(minimum):
    """Values that are not an integer >= minimum."""
    return st.one_of(st.integers(max_value=minimum - 1), non_integral, not_a_number, st.booleans())


bad_beta = st.one_of(
    st.floats(max_value=-1e-30, allow_infinity=True), st.just(float("nan")), st.just(float("inf")), st.text(max_size=2)
)
bad_unit = st.one_of(
    st.floats(max_value=0.0), st.floats(min_value=1.0), st.just(float("nan")), st.text(max_size=2), st.none()
)
bad_name = st.text(max_size=8).filter(lambda s: s not in ("auto", "dense", "order-statistics"))
bad_key = st.one_of(st.integers(), not_a_number, st.just(jax.random.split(KEY, 2)), st.just(jnp.zeros(3)))
bad_dtype = st.sampled_from([jnp.int32, "int64", "complex64", "no-such-dtype", bool])


def non_finite_array(shape):
    """A float array of ``shape`` with at least one NaN or inf."""
    return st.tuples(st.integers(0, int(np.prod(shape)) - 1), st.sampled_from([np.nan, np.inf, -np.inf])).map(
        lambda t: np.where(np.arange(np.prod(shape)).reshape(shape) == t[0], t[1], 0.5).astype(np.float32)
    )


def _raises(fn, *names):
    """``fn()`` raises ValueError/TypeError naming one of ``names``; returns the message."""
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    message = str(info.value)
    assert any(name in message for name in names), f"message does not name {names}: {message!r}"
    return message


def _allowed(message):
    """The message says what is allowed."""
    hints = (">=", "> 0", "one of", "in (", "in [", "interval", "finite", "integer", "shape", "PRNG key", "such as")
    hints += (
        "function",
        "True or False",
        "float dtype",
        "one row per key",
        "sequence",
        "at least",
        "real number",
        "exceed",
        "must be >",
        "must be <",
        "must be below",
    )
    assert any(h in message for h in hints), f"message does not say what is allowed: {message!r}"


# --- one property test per argument of each public function ------------------------------------------------


@SETTINGS
@given(bad_count(2))
def test_uniform_sphere_d(d):
    _allowed(_raises(lambda: lj.UniformSphere(d), "d must"))


@SETTINGS
@given(bad_count(2), st.one_of(not_a_number, st.floats(allow_nan=True, allow_infinity=True), st.booleans()))
def test_subsphere_and_power_density(d, s):
    _allowed(_raises(lambda: lj.Subsphere(d, 2), "d must"))
    _allowed(_raises(lambda: lj.Subsphere(4, d), "m must"))
    _allowed(_raises(lambda: lj.Subsphere(4, 5), "m must"))
    _allowed(_raises(lambda: lj.PowerDensity(d, 1.0), "d must"))
    if not (isinstance(s, float) and s > -3):
        _allowed(_raises(lambda: lj.PowerDensity(4, s), "s must"))


@SETTINGS
@given(bad_count(1), bad_key)
def test_law_sample_n_and_key(n, key):
    _allowed(_raises(lambda: LAW.sample(KEY, n), "n must"))
    _allowed(_raises(lambda: LAW.sample_gaps(KEY, n), "n must"))
    _allowed(_raises(lambda: LAW.sample(key, 4), "key must"))
    for law in (lj.Subsphere(4, 3), lj.PowerDensity(4, 1.0), lj.VonMisesFisher(jnp.eye(4)[0], 5.0)):
        _allowed(_raises(lambda law=law: law.sample(KEY, n), "n must"))
        _allowed(_raises(lambda law=law: law.sample_gaps(key, 4), "key must"))


def test_abstract_law_cannot_be_instantiated():
    with pytest.raises(TypeError, match="abstract"):
        lj.AbstractLaw()


def test_gap_law_needs_every_gap_method():
    class OnlyKeys(lj.AbstractGapLaw):  # dim, query and sample, but no gap law
        @property
        def dim(self):
            return 3

        def query(self, dtype=None):
            return LAW.query(dtype)

        def sample(self, key, n, dtype=None):
            return LAW.sample(key, n, dtype)

    with pytest.raises(TypeError, match="abstract"):
        lj.AbstractGapLaw()
    with pytest.raises(TypeError, match="abstract.*gap_log_cdf_pair"):
        OnlyKeys()


@SETTINGS
@given(st.one_of(not_a_number, non_finite_array((3,)), st.just(np.ones((2, 3))), st.just(np.ones(4))))
def test_gaps_and_attention_reject_bad_queries(q):
    for fn in (lj.gaps, lambda q_, k_: lj.attention_weights(q_, k_, 1.0)):
        _allowed(_raises(lambda fn=fn: fn(q, KEYS), "q must"))


@SETTINGS
@given(st.one_of(not_a_number, non_finite_array((5, 3)), st.just(np.ones((0, 3))), st.just(np.ones((5, 2)))))
def test_gaps_and_attention_reject_bad_keys(keys):
    for fn in (lj.gaps, lambda q_, k_: lj.attention_logits(q_, k_, 1.0)):
        _allowed(_raises(lambda fn=fn: fn(Q, keys), "keys must", "q must", "at least one key"))


OBSERVABLES = [
    lj.attention_logits,
    lj.attention_weights,
    lj.attention_output,
    lj.entropy,
    lj.max_weight,
    lj.top_k_mass,
    lj.effective_size,
    lj.participation_ratio,
]


@SETTINGS
@given(bad_beta)
def test_observables_reject_bad_beta(beta):
    for fn in OBSERVABLES:
        _allowed(_raises(lambda fn=fn: fn(Q, KEYS, beta), "beta must"))


@settings(max_examples=10, deadline=None)  # each call computes the weights before checking k against n
@given(st.one_of(st.integers(max_value=0), st.integers(min_value=6), non_integral, not_a_number, st.booleans()))
def test_top_k_mass_k(k):
    _allowed(_raises(lambda: lj.TopKMass(k)(Q, KEYS, 1.0), "k must"))


@SETTINGS
@given(st.one_of(st.text(max_size=3), st.just(object()), non_finite_array((5,)), st.just(np.ones((4, 2)))))
def test_attention_output_values(values):
    _allowed(_raises(lambda: lj.attention_output(Q, KEYS, 1.0, values), "values must"))


def _mc(**kwargs):
    args = dict(observable=lj.max_weight, law=LAW, n=100, beta=1.0, key=KEY, num_contexts=8)
    return lambda: lj.mc_estimate(**{**args, **kwargs})


@SETTINGS
@given(bad_count(2), bad_count(2), bad_count(2), bad_beta)
def test_mc_estimate_numbers(n, num_contexts, head, beta):
    _allowed(_raises(_mc(n=n), "n must"))
    _allowed(_raises(_mc(num_contexts=num_contexts), "num_contexts must"))
    _allowed(_raises(_mc(head=head), "head must"))
    _allowed(_raises(_mc(beta=beta), "beta must"))


@SETTINGS
@given(bad_name, bad_key, bad_dtype, st.one_of(not_a_number, st.integers()))
def test_mc_estimate_names_keys_dtypes(method, key, dtype, flag):
    _allowed(_raises(_mc(method=method), "method must"))
    _allowed(_raises(_mc(key=key), "key must"))
    _allowed(_raises(_mc(dtype=dtype), "dtype must"))
    _allowed(_raises(_mc(derivative=flag), "derivative must"))
    _allowed(_raises(_mc(law=flag), "law must"))
    _allowed(_raises(_mc(observable=flag), "observable must"))


def test_mc_estimate_rejects_order_statistics_for_user_observables():
    _raises(_mc(observable=lambda q, k, b: jnp.sum(k), method="order-statistics"), "order-statistics")


@SETTINGS
@given(st.one_of(st.just(()), st.just(lj.entropy), st.just((lj.entropy, 3)), st.just((lambda q, k, b: 0.0,))))
def test_mc_estimates_observables(observables):
    _allowed(_raises(lambda: lj.mc_estimates(observables, LAW, 100, 1.0, KEY, 8), "observables must"))


def _crit(**kwargs):
    args = dict(law=LAW, n=100, key=KEY)
    return lambda: lj.find_critical_beta(**{**args, **kwargs})


@SETTINGS
@given(bad_count(2), bad_count(2), bad_count(1), bad_unit)
def test_find_critical_beta_numbers(n, num_contexts, max_steps, level):
    _allowed(_raises(_crit(n=n), "n must"))
    _allowed(_raises(_crit(num_contexts=num_contexts), "num_contexts must"))
    _allowed(_raises(_crit(max_steps=max_steps), "max_steps must"))
    _allowed(_raises(_crit(level=level), "level must"))
    _allowed(_raises(_crit(n=10, level=0.05), "level must exceed 1/n"))


@SETTINGS
@given(bad_name, bad_key, bad_dtype, st.one_of(not_a_number, bad_count(2)))  # an int d >= 2 is UniformSphere(d)
def test_find_critical_beta_names_keys_dtypes(name, key, dtype, law):
    _allowed(_raises(_crit(method=name), "method must"))
    _allowed(_raises(_crit(criterion=name), "criterion must"))
    _allowed(_raises(_crit(key=key), "key must"))
    _allowed(_raises(_crit(dtype=dtype), "dtype must"))
    _allowed(_raises(_crit(law=law), "law must"))


@SETTINGS
@given(st.one_of(st.integers(), st.text(max_size=3), st.none(), st.just([]), st.just([100, 1]), st.just([1.5])))
def test_critical_scan_ns(ns):
    _allowed(_raises(lambda: lj.critical_scan(LAW, ns, KEY), "ns must", "ns[i] must"))


def test_critical_scan_callback():
    _allowed(_raises(lambda: lj.critical_scan(LAW, [100], KEY, callback=3), "callback must"))


@SETTINGS
@given(
    st.one_of(
        st.just(([10], [1.0], None)),
        st.just(([10, 100], [1.0], None)),
        st.just(([10, 100], [1.0, -1.0], None)),
        st.just(([10, 100], [1.0, float("nan")], [0.1, 0.1])),
        st.just(([10, -100], [1.0, 2.0], [0.1, 0.1])),
        st.just(([], [], None)),
        st.just(([10, 10], [1.0, 2.0], [0.1, 0.1])),
        st.just(([10, 100], [1.0, 2.0], [0.1, float("inf")])),
        st.just((["a", "b"], [1.0, 2.0], None)),
        st.just((["10", "100"], [1.0, 2.0], [0.1, 0.1])),  # strings that float() reads
        st.just(([10, 100], [True, 2.0], [0.1, 0.1])),
        st.just(([10, 100], [1.0, 2.0], ["0.1", "0.1"])),
        st.just(([10, 100], [1.0, 2.0], "x")),
    )
)
def test_fit_power_law(case):
    ns, betas, stderrs = case
    _allowed(_raises(lambda: lj.fit_power_law(ns, betas, stderrs), "ns", "betas", "stderrs", "points"))


@SETTINGS
@given(
    st.one_of(
        st.text(max_size=3),
        st.just("12"),  # two characters that float() reads
        st.just(("1", "2")),
        st.just((True, 1.0)),
        st.just((1.0,)),
        st.just((1.0, "a")),
        st.just((-200.0, 0.5)),
        st.integers(),
    )
)
def test_fit_power_law_finite_size(finite_size):
    fit = lambda: lj.fit_power_law([10, 100], [1.0, 2.0], [0.1, 0.1], finite_size=finite_size)  # noqa: E731
    _allowed(_raises(fit, "finite_size"))


@SETTINGS
@given(
    st.one_of(
        st.text(max_size=3),
        st.just("12"),
        st.just(["1", "2"]),
        st.just([True, 1.0]),
        st.just([1.0]),
        st.just([1.0, 0.0]),
        st.just([1.0, float("nan")]),
    )
)
def test_fit_power_law_factors(factors):
    fit = lambda: lj.fit_power_law([10, 100], [1.0, 2.0], [0.1, 0.1], factors=factors)  # noqa: E731
    _allowed(_raises(fit, "factors"))


class _NoGapLaw(lj.AbstractLaw):
    @property
    def dim(self):
        return 3

    def query(self, dtype=None):
        return Q

    def sample(self, key, n, dtype=None):
        return LAW.sample(key, n, dtype)


THEORY_OF_LAW = [
    theory.gap_expansion,
    theory.critical_constant,
    theory.finite_size_coefficient,
    lambda d: theory.limit_intensity(d, 1.0),
    lambda d: theory.limit_mean_max_weight(d, 1.0),
    lambda d: theory.critical_beta(d, 100),
    lambda d: theory.exact_mean_max_weight(d, 100, 1.0),
    lambda d: theory.exact_critical_beta(d, 100),
    lambda d: theory.finite_size_factors(d, [100]),
]


@SETTINGS
@given(bad_count(2))
def test_theory_rejects_bad_dimensions(d):
    for fn in THEORY_OF_LAW:
        _allowed(_raises(lambda fn=fn: fn(d), "d must"))


def test_theory_rejects_laws_without_a_gap_law():
    for fn in THEORY_OF_LAW:
        _raises(lambda fn=fn: fn(_NoGapLaw()), "no closed-form gap law")


bad_gamma = st.one_of(
    st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf")), st.text(max_size=2), st.just([1.0, -1.0])
)


@SETTINGS
@given(bad_gamma, bad_unit, st.one_of(st.floats(max_value=1.99), st.just(float("nan")), st.text(max_size=2)))
def test_theory_gamma_level_n(gamma, level, n):
    _allowed(_raises(lambda: theory.limit_intensity(3, gamma), "gamma must"))
    _allowed(_raises(lambda: theory.limit_mean_max_weight(3, gamma), "gamma must"))
    _allowed(_raises(lambda: theory.critical_constant(3, level), "level must"))
    _allowed(_raises(lambda: theory.finite_size_coefficient(3, level), "level must"))
    _allowed(_raises(lambda: theory.critical_beta(3, 100, level), "level must"))
    _allowed(_raises(lambda: theory.critical_beta(3, n), "n must"))


@SETTINGS
@given(bad_count(2), bad_beta, bad_unit)
def test_theory_exact_finite_n(n, beta, level):
    if n != 1:  # n = 1 is allowed for E[max weight] (it is 1)
        _allowed(_raises(lambda: theory.exact_mean_max_weight(3, n, 1.0), "n must"))
    _allowed(_raises(lambda: theory.exact_mean_max_weight(3, 100, beta), "beta must"))
    _allowed(_raises(lambda: theory.exact_critical_beta(3, n), "n must"))
    _allowed(_raises(lambda: theory.exact_critical_beta(3, 100, level), "level must"))
    _allowed(_raises(lambda: theory.exact_critical_beta(3, 10, 0.05), "level must exceed"))
    _allowed(_raises(lambda: theory.finite_size_factors(3, [100, n]), "ns must", "ns[i] must"))
    _allowed(_raises(lambda: theory.finite_size_factors(3, 100), "ns must"))
    _allowed(_raises(lambda: theory.finite_size_factors(3, [100], level), "level must"))


@SETTINGS
@given(bad_key, bad_gamma, bad_count(1), bad_count(2))
def test_theory_limit_samplers(key, gamma, num_samples, num_points):
    for fn in (theory.sample_limit_weights, theory.sample_limit_entropy):
        _allowed(_raises(lambda fn=fn: fn(key, 3, 1.0, 10), "key must"))
        _allowed(_raises(lambda fn=fn: fn(KEY, 3, gamma, 10), "gamma must"))
        _allowed(_raises(lambda fn=fn: fn(KEY, 3, 1.0, num_samples), "num_samples must"))
        _allowed(_raises(lambda fn=fn: fn(KEY, 3, 1.0, 10, num_points=num_points), "num_points must"))
    _allowed(_raises(lambda: theory.sample_limit_weights(KEY, 3, jnp.ones(2), 10), "gamma must"))
    _allowed(_raises(lambda: theory.sample_limit_weights(KEY, 3, 1.0, 10, k=0), "k must"))
    _allowed(_raises(lambda: theory.sample_limit_weights(KEY, 3, 1.0, 10, k=5, num_points=4), "k must"))


@SETTINGS
@given(st.one_of(bad_count(2), st.just(lj.AbstractLaw)))
def test_critical_exponent(d):
    _allowed(_raises(lambda: theory.critical_exponent(d), "d must"))


@SETTINGS
@given(bad_count(2), bad_beta, st.one_of(st.just(float("nan")), st.text(max_size=2), st.just(object())))
def test_theory_mean_field_score_heat(d, beta, x):
    mean_field = [
        lambda d_, b: theory.log_partition(d_, b),
        lambda d_, b: theory.mean_resultant(d_, b),
        lambda d_, b: theory.mean_field_entropy(d_, 100, b),
        lambda d_, b: theory.output_mean(d_, 100, b),
        lambda d_, b: theory.output_covariance(d_, 100, b),
        lambda d_, b: theory.heat_flow_mean_resultant(d_, 0.5, b),
    ]
    for fn in mean_field:
        _allowed(_raises(lambda fn=fn: fn(d, 10.0), "d must"))
        _allowed(_raises(lambda fn=fn: fn(3, beta), "beta must"))
    for fn in (theory.supercritical_max_weight_deficit, theory.supercritical_prob_max_weight_above):
        _allowed(_raises(lambda fn=fn: fn(d, 10.0), "d must"))
        _allowed(_raises(lambda fn=fn: fn(3, beta), "gamma must"))  # bad betas are bad gammas too
    for fn in (theory.score_log_density, theory.score_log_cdf, theory.score_log_sf):
        _allowed(_raises(lambda fn=fn: fn(d, 0.5), "d must"))
        _allowed(_raises(lambda fn=fn: fn(3, x), "s must"))
    _allowed(_raises(lambda: theory.score_quantile(3, x), "log_p must"))
    _allowed(_raises(lambda: theory.score_quantile(3, 0.5), "log_p must"))
    _allowed(_raises(lambda: theory.supercritical_rate(d), "d must"))
    _allowed(_raises(lambda: theory.heat_flow_mean_resultant(3, 1.5, 1.0), "mean_resultant_length must"))
    _allowed(_raises(lambda: theory.supercritical_prob_max_weight_above(3, 1.0, eps=0.9), "eps must"))
    for fn in (theory.heat_output, theory.heat_displacement):
        _allowed(_raises(lambda fn=fn: fn(3, 1.0), "law must"))
        _allowed(_raises(lambda fn=fn: fn(LAW, beta), "beta must"))


@SETTINGS
@given(st.sampled_from([-1.0, float("nan"), float("inf")]))
def test_von_mises_fisher(kappa):
    _raises(lambda: lj.VonMisesFisher(jnp.ones(3), kappa), "kappas must")
    _raises(lambda: lj.VonMisesFisher(jnp.zeros(3), 1.0), "means must")
    means, weights = jnp.ones((2, 3)), jnp.array([0.5, 0.5])
    _raises(lambda: lj.VonMisesFisherMixture(means, jnp.array([1.0, kappa]), weights), "kappas must")


# --- schedules, regime map, learned schedules, real keys, the simplex ----------------------------------------

bad_positive = st.one_of(
    st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf")), st.text(max_size=2), st.none()
)
bad_sizes = st.one_of(
    st.floats(max_value=0.999), st.just(float("nan")), st.just(float("inf")), st.text(max_size=2), st.none()
)
SCHEDULES = [
    lambda v: lj.PowerLaw(v, 0.5),
    lambda v: lj.Constant(v),
    lambda v: lj.QwenLogN(v),
    lambda v: lj.YaRN(v),
    lambda v: lj.LongRoPE(v),
    lambda v: lj.ScalableSoftmax(v),
    lambda v: lj.Llama4(v),
]
SCHEDULE_PARAMS = [
    (lambda v: lj.QwenLogN(train_length=v), "train_length must"),
    (lambda v: lj.YaRN(train_length=v), "train_length must"),
    (lambda v: lj.YaRN(scale=v), "scale must"),
    (lambda v: lj.LongRoPE(train_length=v), "train_length must"),
    (lambda v: lj.LongRoPE(scale=v), "scale must"),
    (lambda v: lj.ScalableSoftmax(s=v), "s must"),
    (lambda v: lj.Llama4(attn_scale=v), "attn_scale must"),
    (lambda v: lj.Llama4(floor_scale=v), "floor_scale must"),
]


@SETTINGS
@given(bad_positive, bad_sizes, st.one_of(st.just(float("nan")), st.just(float("inf")), st.text(max_size=2)))
def test_schedules(value, n, exponent):
    for make in SCHEDULES:  # the base (prefactor for PowerLaw) must be finite and > 0
        _allowed(_raises(lambda make=make: make(value), "base must", "beta must", "prefactor must"))
    for make, name in SCHEDULE_PARAMS:
        if not (value is None and name == "scale must"):  # scale=None is the dynamic variant
            _allowed(_raises(lambda make=make: make(value), name))
    for make in SCHEDULES:  # schedule(n) needs context sizes n >= 1
        _allowed(_raises(lambda make=make: make(2.0)(n), "n must"))
        _allowed(_raises(lambda make=make: make(2.0)(jnp.array([10.0, 0.5])), "n must"))
    _allowed(_raises(lambda: lj.PowerLaw(2.0, exponent), "exponent must"))
    _allowed(_raises(lambda: lj.PowerLaw(None, 1.0, log_prefactor=exponent), "log_prefactor must"))


def test_schedule_train_lengths_and_abstract():
    for make in (lambda v: lj.QwenLogN(train_length=v), lambda v: lj.LongRoPE(train_length=v)):
        _allowed(_raises(lambda make=make: make(1.0), "train_length must be > 1"))
    with pytest.raises(TypeError, match="abstract"):
        lj.AbstractSchedule()


@SETTINGS
@given(
    st.text(max_size=8).filter(
        lambda s: s.strip().partition(":")[0].lower() not in lj._schedules._schedule.SCHEDULE_NAMES
    )
)
def test_schedule_from_name_unknown(name):
    message = _raises(lambda: lj.schedule_from_name(name), "unknown schedule")
    assert all(known in message for known in lj._schedules._schedule.SCHEDULE_NAMES), message


@pytest.mark.parametrize(
    ("spec", "base", "names"),
    [
        (3, 1.0, ("schedule must",)),
        (None, 1.0, ("schedule must",)),
        ("qwen:x", 1.0, ("qwen",)),
        ("qwen:1,2", 1.0, ("qwen",)),
        ("qwen:1", 1.0, ("train_length must",)),
        ("yarn:nan", 1.0, ("yarn",)),
        ("llama4:0.1", 1.0, ("llama4",)),
        ("llama4:0.1,0", 1.0, ("floor_scale must",)),
        ("ssmax:-1", 1.0, ("s must",)),
        ("constant", 1.0, ("constant",)),
        ("constant:-1", 1.0, ("beta must",)),
        ("power:1", 1.0, ("power",)),
        ("power:0,1", 1.0, ("prefactor must",)),
        ("qwen", -1.0, ("base must",)),
        ("power:1,1", float("nan"), ("base must",)),
        ("qwen", "a", ("base must",)),
    ],
)
def test_schedule_from_name_bad_specs(spec, base, names):
    _allowed(_raises(lambda: lj.schedule_from_name(spec, base=base), *names))


def _regime(**kwargs):
    # critical given as a curve: bad input is caught before any sampling
    args = dict(law=LAW, schedule=lj.Constant(1.0), ns=[10], key=KEY, num_contexts=4, critical=lj.PowerLaw(1.0, 1.0))
    return lambda: lj.regime_map(**{**args, **kwargs})


bad_ns = st.one_of(
    st.integers(), st.text(max_size=3), st.none(), st.just([]), st.just([100, 1]), st.just([1.5]), st.just(["a"])
)


@SETTINGS
@given(bad_ns, bad_count(2), bad_key, bad_name, bad_dtype)
def test_regime_map_and_critical_betas(ns, num_contexts, key, method, dtype):
    for fn in (_regime, lambda **kw: lambda: lj.critical_betas(**{"law": LAW, "ns": [10], "key": KEY, **kw})):
        _allowed(_raises(fn(ns=ns), "ns must", "ns[i] must"))
        _allowed(_raises(fn(num_contexts=num_contexts), "num_contexts must"))
        _allowed(_raises(fn(key=key), "key must"))
        _allowed(_raises(fn(method=method), "method must"))
        _allowed(_raises(fn(law=3), "law must"))
        _allowed(_raises(fn(head=1), "head must"))
    _allowed(_raises(_regime(dtype=dtype, critical=None), "dtype must"))


@SETTINGS
@given(
    st.one_of(st.floats(max_value=1.0), st.just(float("nan")), st.just(float("inf")), st.text(max_size=2)),
    st.one_of(st.integers(), st.none(), st.just([]), st.just([lj.Constant(1.0), 3]), st.just("qwen")),
    st.one_of(
        st.integers(),
        st.just((jnp.ones(2), jnp.zeros(2))),
        st.just((jnp.array([float("nan")]), jnp.zeros(1))),
        st.just((jnp.array([-1.0]), jnp.zeros(1))),
        st.just((jnp.array([1.0]), jnp.array([-0.1]))),
        st.just(("a", "b")),
        st.just((jnp.ones(1),)),
    ),
)
def test_regime_map_band_schedule_critical(band, schedule, critical):
    _allowed(_raises(_regime(band=band), "band must"))
    _allowed(_raises(_regime(schedule=schedule), "schedule must"))
    _allowed(_raises(_regime(critical=critical), "critical"))


def _fit_schedule(**kwargs):
    args = dict(law=LAW, ns=[10, 100], key=KEY, steps=1, num_contexts=4)
    return lambda: lj.fit_schedule(**{**args, **kwargs})


@SETTINGS
@given(bad_ns, bad_count(1), bad_count(2), bad_unit, bad_key)
def test_fit_schedule_numbers(ns, steps, num_contexts, level, key):
    _allowed(_raises(_fit_schedule(ns=ns), "ns must", "ns[i] must"))
    _allowed(_raises(_fit_schedule(ns=[10, 10]), "ns must"))
    _allowed(_raises(_fit_schedule(steps=steps), "steps must"))
    _allowed(_raises(_fit_schedule(num_contexts=num_contexts), "num_contexts must"))
    _allowed(_raises(_fit_schedule(head=num_contexts), "head must"))
    _allowed(_raises(_fit_schedule(level=level), "level must"))
    _allowed(_raises(_fit_schedule(level=0.05), "level must exceed"))
    _allowed(_raises(_fit_schedule(key=key), "key must"))


@SETTINGS
@given(bad_name, bad_dtype, st.one_of(not_a_number, st.integers(), st.just(lj.Constant(1.0))))
def test_fit_schedule_names_and_objects(method, dtype, thing):
    _allowed(_raises(_fit_schedule(method=method), "method must"))
    _allowed(_raises(_fit_schedule(dtype=dtype), "dtype must"))
    _allowed(_raises(_fit_schedule(law=thing), "law must"))
    if thing is not None:  # None is the default init and optimizer
        _allowed(_raises(_fit_schedule(init=thing), "init must"))
        _allowed(_raises(_fit_schedule(optimizer=thing), "optimizer must"))


RAW_KEYS = np.random.default_rng(0).normal(size=(50, 3))
bad_key_arrays = st.one_of(
    st.text(max_size=3),
    st.just(np.ones(3)),
    st.just(np.ones((3, 3), np.int32)),
    st.just(np.ones((1, 3))),
    st.just(np.ones((4, 1))),
    st.just(np.array([[1.0, 0.0], [np.inf, 1.0]])),
    st.just(np.array([[1.0, 0.0], [0.0, 0.0]])),
)


@SETTINGS
@given(
    bad_key_arrays, st.one_of(st.text(max_size=2), st.just(np.ones(4)), st.just(np.zeros(3)), non_finite_array((3,)))
)
def test_empirical_keys(keys, query):
    for fn in (lj.EmpiricalKeys, lj.estimate_local_exponent):
        _raises(lambda fn=fn: fn(keys), "keys must", "keys has")
        _raises(lambda fn=fn: fn(RAW_KEYS, query), "query must")
    _allowed(_raises(lambda: lj.EmpiricalKeys(RAW_KEYS, replace=1), "replace must"))


@SETTINGS
@given(bad_count(1), bad_key, bad_dtype)
def test_empirical_keys_sample(n, key, dtype):
    law = lj.EmpiricalKeys(RAW_KEYS)
    for sample in (law.sample, law.sample_gaps):
        _allowed(_raises(lambda sample=sample: sample(KEY, n), "n must"))
        _allowed(_raises(lambda sample=sample: sample(key, 4), "key must"))
        _allowed(_raises(lambda sample=sample: sample(KEY, 4, dtype), "dtype must"))
        _allowed(_raises(lambda sample=sample: sample(KEY, 51), "exceeds the N = 50 keys"))


@SETTINGS
@given(
    st.one_of(bad_count(10), st.integers(min_value=50)).filter(lambda k: k is not None),
    st.one_of(not_a_number, st.integers()),
)
def test_estimate_local_exponent(k, flag):
    _allowed(_raises(lambda: lj.estimate_local_exponent(RAW_KEYS, k=k), "k must"))
    _allowed(_raises(lambda: lj.estimate_local_exponent(RAW_KEYS, k=10, curvature=flag), "curvature must"))


def test_load_keys(tmp_path):
    _raises(lambda: lj.load_keys(tmp_path / "missing.npy"), "does not exist")
    (tmp_path / "text.npy").write_text("not an array")
    _raises(lambda: lj.load_keys(tmp_path / "text.npy"), "text.npy")
    np.savez(tmp_path / "two.npz", a=np.eye(2), b=np.eye(2))
    _raises(lambda: lj.load_keys(tmp_path / "two.npz"), "archive")
    np.save(tmp_path / "ints.npy", np.ones((3, 2), np.int32))
    _raises(lambda: lj.load_keys(tmp_path / "ints.npy"), "must be a float array")
    for path in (3, None, [str(tmp_path)]):
        _allowed(_raises(lambda path=path: lj.load_keys(path), "path must"))


@SETTINGS
@given(
    st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1.0), st.just(float("nan")), st.text(max_size=2)),
    bad_count(3),
    bad_count(2),
    bad_key,
)
def test_simplex(rho, d, n, key):
    _allowed(_raises(lambda: lj.Simplex(rho, 8), "rho must"))
    _allowed(_raises(lambda: lj.Simplex(0.5, d), "d must"))
    law = lj.Simplex(0.5, 8)
    for sample in (law.sample, law.sample_gaps):
        _allowed(_raises(lambda sample=sample: sample(KEY, n), "n must"))
        _allowed(_raises(lambda sample=sample: sample(key, 4), "key must"))


@SETTINGS
@given(bad_sizes, bad_beta, st.one_of(st.floats(max_value=-1.001), st.floats(min_value=1.001), st.just(float("nan"))))
def test_simplex_self_weight(n, beta, rho):
    _allowed(_raises(lambda: lj.simplex_self_weight(n, 1.0, 0.5), "n must"))
    _allowed(_raises(lambda: lj.simplex_self_weight(10.0, beta, 0.5), "beta must"))
    _allowed(_raises(lambda: lj.simplex_self_weight(10.0, 1.0, rho), "rho must"))


# Every public function of lattn_jax and lattn_jax.theory has a case above (classes are
# results or laws: their constructors are audited through UniformSphere and the functions).
AUDITED = {
    "lattn_jax.UniformSphere",
    "lattn_jax.AbstractLaw",
    "lattn_jax.AbstractGapLaw",
    "lattn_jax.gaps",
    "lattn_jax.attention_logits",
    "lattn_jax.attention_weights",
    "lattn_jax.attention_output",
    "lattn_jax.entropy",
    "lattn_jax.max_weight",
    "lattn_jax.top_k_mass",
    "lattn_jax.effective_size",
    "lattn_jax.participation_ratio",
    "lattn_jax.mc_estimate",
    "lattn_jax.mc_estimates",
    "lattn_jax.TopKMass",
    "lattn_jax.AbstractObservable",
    "lattn_jax.AbstractSummaryObservable",
    "lattn_jax.find_critical_beta",
    "lattn_jax.critical_scan",
    "lattn_jax.fit_power_law",
    "lattn_jax.theory.critical_exponent",
    "lattn_jax.Subsphere",
    "lattn_jax.PowerDensity",
    "lattn_jax.theory.gap_expansion",
    "lattn_jax.theory.critical_constant",
    "lattn_jax.theory.finite_size_coefficient",
    "lattn_jax.theory.limit_intensity",
    "lattn_jax.theory.limit_mean_max_weight",
    "lattn_jax.theory.critical_beta",
    "lattn_jax.theory.sample_limit_weights",
    "lattn_jax.theory.sample_limit_entropy",
    "lattn_jax.theory.exact_mean_max_weight",
    "lattn_jax.theory.exact_critical_beta",
    "lattn_jax.theory.finite_size_factors",
    "lattn_jax.VonMisesFisher",
    "lattn_jax.VonMisesFisherMixture",
    "lattn_jax.theory.supercritical_max_weight_deficit",
    "lattn_jax.theory.heat_displacement",
    "lattn_jax.theory.heat_flow_mean_resultant",
    "lattn_jax.theory.heat_output",
    "lattn_jax.theory.log_partition",
    "lattn_jax.theory.mean_field_entropy",
    "lattn_jax.theory.mean_resultant",
    "lattn_jax.theory.output_covariance",
    "lattn_jax.theory.output_mean",
    "lattn_jax.theory.supercritical_prob_max_weight_above",
    "lattn_jax.theory.score_log_cdf",
    "lattn_jax.theory.score_log_density",
    "lattn_jax.theory.score_log_sf",
    "lattn_jax.theory.score_quantile",
    "lattn_jax.theory.supercritical_rate",
    "lattn_jax.AbstractSchedule",
    "lattn_jax.PowerLaw",
    "lattn_jax.Constant",
    "lattn_jax.QwenLogN",
    "lattn_jax.YaRN",
    "lattn_jax.LongRoPE",
    "lattn_jax.ScalableSoftmax",
    "lattn_jax.Llama4",
    "lattn_jax.schedule_from_name",
    "lattn_jax.regime_map",
    "lattn_jax.critical_betas",
    "lattn_jax.fit_schedule",
    "lattn_jax.EmpiricalKeys",
    "lattn_jax.load_keys",
    "lattn_jax.estimate_local_exponent",
    "lattn_jax.Simplex",
    "lattn_jax.simplex_self_weight",
}
ERRORS = {"lattn_jax.ArgumentValueError", "lattn_jax.ArgumentTypeError"}  # what every case above raises
RESULTS = {
    "lattn_jax.Estimate",
    "lattn_jax.CriticalBeta",
    "lattn_jax.PowerLawFit",
    "lattn_jax.theory.OutputCovariance",
    "lattn_jax.RegimeMap",
    "lattn_jax.ScheduleFit",
    "lattn_jax.LocalExponent",
    "lattn_jax.Atoms",
    "lattn_jax.Summary",
}


def test_every_public_function_is_audited():
    public = set()
    for module in (lj, theory):
        for name, obj in vars(module).items():
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj)):
                public.add(f"{module.__name__}.{name}")
    missing = public - AUDITED - RESULTS - ERRORS
    assert not missing, f"public names without a bad-input case in tests/test_errors.py: {sorted(missing)}"


def test_traced_values_pass_through_validation():
    # Inside jit/vmap/grad the eager checks step aside (no ConcretizationTypeError).
    assert jax.jit(lj.top_k_mass)(Q, KEYS, 1.0).shape == ()


def test_argument_errors_are_the_exported_classes_and_name_the_argument():
    with pytest.raises(lj.ArgumentValueError, match="num_contexts must") as info:
        lj.mc_estimate(lj.max_weight, LAW, 100, 1.0, KEY, 1)
    assert info.value.argument == "num_contexts" and isinstance(info.value, ValueError)
    with pytest.raises(lj.ArgumentTypeError, match="key must") as info:
        lj.find_critical_beta(LAW, 100, 0)
    assert info.value.argument == "key" and isinstance(info.value, TypeError)
    with pytest.raises(lj.ArgumentValueError, match="ns must") as info:
        lj.critical_scan(LAW, [100, 1], KEY)
    assert info.value.argument == "ns"


# Under jax.jit, JAX raises when the program runs: JaxRuntimeError (a RuntimeError) on the call that
# compiles, a plain ValueError from its fast path on later calls; the message is ours either way.
_TRACED_BETA_ERROR = (RuntimeError, ValueError)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
@pytest.mark.parametrize(
    "fn",
    [
        lambda beta: lj.attention_weights(Q, KEYS, beta),
        lambda beta: lj.entropy(Q, KEYS, beta),
        lambda beta: lj.TopKMass(2)(Q, KEYS, beta),
        lambda beta: lj.mc_estimate(lj.max_weight, LAW, 100, beta, KEY, 4).mean,
        lambda beta: theory.mean_resultant(3, beta),
        lambda beta: theory.exact_mean_max_weight(3, 100, beta),
        lambda beta: theory.heat_flow_mean_resultant(3, 0.5, beta),
    ],
    ids=[
        "attention_weights",
        "entropy",
        "TopKMass",
        "mc_estimate",
        "mean_resultant",
        "exact_mean_max_weight",
        "heat_flow",
    ],
)
def test_traced_bad_beta_raises_at_run_time(fn, bad):
    jitted = jax.jit(fn)
    with pytest.raises(_TRACED_BETA_ERROR, match="beta must be finite and >= 0") as info:
        jax.block_until_ready(jitted(jnp.asarray(bad)))  # the call that compiles
    assert not isinstance(info.value, lj.ArgumentValueError)  # found at run time, not at call time
    assert np.all(np.isfinite(jitted(jnp.asarray(0.5))))
    with pytest.raises(_TRACED_BETA_ERROR, match="beta must be finite and >= 0"):
        jax.block_until_ready(jitted(jnp.asarray(bad)))  # the compiled program, again
    with pytest.raises(_TRACED_BETA_ERROR, match="beta must be finite and >= 0"):
        jax.block_until_ready(jax.jit(jax.vmap(fn))(jnp.array([1.0, bad])))


# --- the command line ----------------------------------------------------------------------------------------


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["--dim", "--n", "--contexts", "--check-contexts", "--level"]),
    st.one_of(
        st.sampled_from(["0", "1", "-3", "1.5", "abc", "nan", "inf", "-inf", "1e400", "", "0x10"]),
        st.text(max_size=4).filter(lambda s: not _is_number(s)),
    ),
)
def test_cli_critical_bad_numbers_exit_2(flag, value):
    # Every value here is invalid for every flag, so nothing is ever computed.
    args = ["critical", "--quiet", "--n", "1e2", flag, value] if flag != "--n" else ["critical", flag, value]
    with contextlib.redirect_stderr(io.StringIO()) as stderr:
        code = main(args)
    err = stderr.getvalue()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lattn: error:"), err
    assert flag in lines[0] or "argument" in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["critical", "--criterion", "peak"], "invalid choice"),
        (["critical", "--json", "/nonexistent/out.json"], "does not exist"),
        (["critical", "--csv", "/nonexistent/out.csv"], "does not exist"),
        (["critical", "--jsonl", "/nonexistent/out.jsonl"], "does not exist"),
        (["critical", "--plot", "/"], "cannot write"),
        (["critical", "--resume"], "--resume needs --jsonl"),
        (["critical", "--law", "gaussian"], "unknown law"),
        (["critical", "--law", "subsphere:x"], "bad parameter"),
        (["critical", "--law", "subsphere:5", "--dim", "3"], "--law subsphere:M needs 2 <= M <= d"),
        (["critical", "--law", "power:-5", "--dim", "3"], "--law power:S needs S > 1 - d"),
        (["critical", "--finite-size", "--criterion", "entropy_curvature"], "--finite-size applies"),
        (["validate", "--only", "no-such-check"], "invalid choice"),
        (["validate", "--json", "/nonexistent/v.json"], "does not exist"),
        (["figures", "--only", "no-such-figure"], "unknown figure"),
        (["figures", "--out", "/proc/no-such-dir"], "--out"),
        (["figures", "--unknown-flag"], "unrecognized arguments"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args, message, capsys):
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lattn: error:"), lines
    assert message in lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["--n", "abc"],
        ["--n", "1e4:1e3"],
        ["--n", "1:100"],
        ["--n", "1e2:1e4:1"],
        ["--n", "1e2:1e3:4:5"],
        ["--dim", "1"],
        ["--dim", "2.5"],
        ["--contexts", "1"],
        ["--contexts", "nan"],
        ["--simplex", "nan"],
        ["--simplex", "1"],
        ["--simplex", "0.5", "--dim", "2"],
        ["--simplex", "0.5", "--keys", "k.npy"],
        ["--keys", "/nonexistent/keys.npy"],
        ["--query", "q.npy"],
        ["--method", "exact"],
        ["--seed", "1.5"],
        ["--json", "/nonexistent/out.json"],
        ["--bogus"],
    ],
)
@pytest.mark.parametrize("command", ["regime", "fit-schedule"])
def test_cli_regime_and_fit_schedule_bad_flags_exit_2(command, args, capsys):
    assert main([command, *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lattn: error:"), lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["regime", "--band", "inf"], "--band must be > 1"),
        (["regime", "--band", "nan"], "--band must be > 1"),
        (["regime", "--band", "1"], "--band must be > 1"),
        (["regime", "--base", "nan"], "--base must be finite and > 0"),
        (["regime", "--base", "inf"], "--base must be finite and > 0"),
        (["regime", "--base", "0"], "--base must be finite and > 0"),
        (["regime", "--schedule", "power:1"], "schedule 'power'"),
        (["regime", "--schedule", "qwen", "rope"], "known: qwen, yarn, longrope, ssmax, llama4, constant, power"),
        (["regime", "--schedule", "qwen:1"], "train_length must be > 1"),
        (["regime", "--plot", "/"], "cannot write"),
        (["fit-schedule", "--level", "nan"], "--level must be in (1/n, 1)"),
        (["fit-schedule", "--level", "1"], "--level must be in (1/n, 1)"),
        (["fit-schedule", "--level", "0.05", "--n", "10,100"], "--level must be in (1/n, 1)"),
        (["fit-schedule", "--lr", "nan"], "--lr must be finite and > 0"),
        (["fit-schedule", "--lr", "-0.1"], "--lr must be finite and > 0"),
        (["fit-schedule", "--steps", "0"], "--steps must be an integer >= 1"),
        (["fit-schedule", "--n", "100,100"], "at least two distinct context sizes"),
    ],
)
def test_cli_regime_and_fit_schedule_bad_values(args, message, capsys):
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lattn: error:"), lines
    assert message in lines[0], lines[0]


def test_cli_out_under_a_regular_file_for_figures(tmp_path, capsys):
    # A folder under a regular file can be made by nobody, root included.
    (tmp_path / "file").write_text("")
    assert main(["figures", "--out", str(tmp_path / "file" / "figures"), "--only", "phase-transition"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("lattn: error: --out: cannot create folder") and "Not a directory" in line, line


# Each message these commands changed: one line naming the flag and its range, nothing on stdout before it.
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["critical", "--n", "1e40"], "--n must be <= 1e+15 with --method auto (order-statistics here)"),
        (["critical", "--n", "1e3", "1e19"], "--n must be <= 1e+15 with --method auto"),
        (["critical", "--n", "1e16", "--method", "streaming"], "--n must be <= 1e+15 with --method streaming"),
        (["critical", "--n", "1e10", "--method", "dense"], "--n must be <= 2.147e+09 with --method dense"),
        (["critical", "--dim", "3", "--law", "power:-1.5", "--n", "1e9"], "--n must be <= 1.54e+08 for d = 3"),
        (["regime", "--n", "1e3:1e40"], "--n must be <= 1e+15 with --method order-statistics"),
        (["fit-schedule", "--n", "1e3,1e16", "--method", "dense"], "--n must be <= 2.147e+09 with --method dense"),
        (["critical", "--dim", "3.5"], "argument --dim: expected an integer such as 3 or 64, got '3.5'"),
        (["critical", "--num-processes", "1.5"], "argument --num-processes: expected an integer such as 2 or 8"),
        (["regime", "--dim", "3.5"], "argument --dim: expected an integer such as 3 or 64, got '3.5'"),
        (["fit-schedule", "--steps", "2.5"], "argument --steps: expected an integer such as 300 or 1000"),
        (["heads", "--seq-len", "2.5"], "argument --seq-len: expected an integer such as 128 or 512"),
        (["critical", "--contexts", "1e2.5"], "argument --contexts: expected an integer such as 1000 or 1e5"),
        (
            ["critical", "--level", "2"],
            "--level must be in (1/n, 1) for the smallest n = 100, i.e. in (0.01, 1), got 2",
        ),
        (["critical", "--level", "0.001"], "--level must be in (1/n, 1) for the smallest n = 100"),
        (["heads", "--level", "2"], "--level must be in (1/n, 1) for the smallest n = 100"),
        (["critical", "--contexts", "1"], "--contexts must be >= 2, got 1"),
        (["critical", "--check-contexts", "1"], "--check-contexts must be >= 2, got 1"),
        (["fit-schedule", "--steps", "0"], "--steps must be an integer >= 1, got 0"),
        (["fit-schedule", "--contexts", "1"], "--contexts must be an integer >= 2, got 1"),
    ],
)
def test_cli_messages_name_the_flag_and_range(args, message, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("lattn: error:") and message in line, line


@pytest.mark.parametrize("command", ["critical", "fit-schedule", "heads"])
def test_cli_level_range_is_stated_alike_in_help_and_errors(command):
    from lattn_jax.cli import build_parser
    from lattn_jax.cli._common import LEVEL_RANGE

    (sub,) = [a for a in build_parser()._actions if a.dest == "command"]
    (level,) = [a for a in sub.choices[command]._actions if a.dest == "level"]
    assert LEVEL_RANGE in level.help and LEVEL_RANGE == "in (1/n, 1) for the smallest n"


@pytest.mark.parametrize("command", ["regime", "fit-schedule"])
def test_cli_more_n_than_keys_is_refused_before_any_output(command, tmp_path, capsys):
    path = tmp_path / "keys.npy"
    np.save(path, np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32))
    assert main([command, "--keys", str(path), "--n", "5,1e3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert f"--n must be <= 10, the number of keys in --keys {path}" in line and "got 1000" in line, line
    assert "replace" not in line.replace("with replacement", ""), line  # no Python-only hint


def test_cli_method_the_keys_cannot_use_is_refused_before_any_output(tmp_path, capsys):
    path = tmp_path / "keys.npy"
    np.save(path, np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32))
    assert main(["regime", "--keys", str(path), "--n", "5,10", "--method", "order-statistics"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--method order-statistics" in captured.err and "gap law" in captured.err


@pytest.mark.parametrize(
    "args",
    [["critical", "--plot", "PNG"], ["regime", "--plot", "PNG"], ["figures", "--out", "DIR"]],
)
def test_cli_missing_matplotlib_hint_installs_from_the_clone(args, tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    args = [str(tmp_path / a) if a in ("PNG", "DIR") else a for a in args]
    assert main(args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert 'needs matplotlib: in the lattn-jax clone, pip install -e ".[plot]"' in line, line
