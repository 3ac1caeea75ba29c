"""Per-head analysis (lattn_jax.models._heads) on synthetic and real pools: t*(n) against
an independent NumPy brute force, the horizon, the law fits, schedules, JSON."""

import json
import math

import jax
import numpy as np
import pytest

from lattn_jax import Constant, QwenLogN
from lattn_jax.models import HeadPools
from lattn_jax.models._heads import (
    LAWS,
    analyze_heads,
    estimate_score_exponent,
    fit_scaling_laws,
    head_scores,
    published_schedules,
    report_from_json,
    report_to_json,
    schedule_horizon,
    selectivity_horizon,
)

# The synthetic pools have the real model's shapes in test_t_star_on_real_keys_matches_brute_force
# (20160 text keys = 160 sequences of 128 tokens less [CLS]/[SEP], 64 queries, head_dim 32, mean
# length 128), so analyze_heads runs the same compiled programs on both at one num_contexts
# (CONTEXTS). The CLI run and test_flags share another set: TINY pools of 3024 text keys
# (24 sequences), n in TINY_NS, 32 contexts.
NS = (100, 300, 1000)
POOL = 20_160
TINY_POOL, TINY_NS = 3024, (50, 100, 300)
NQ = 64
D = 4  # the synthetic vectors' own dimension, zero-padded to HEAD_DIM
HEAD_DIM = 32
CONTEXTS = 1024


def _pools(seed=0, *, pool=POOL, queries=None, keys=None, special=0.0):
    """Two heads: keys on a sphere of radius 4 with queries of norm 4 in R^D
    (scores <q, k> / sqrt(D) = 8 cos(angle), alpha = D - 1 = 3), and Gaussian
    keys and queries in R^D. Both are zero-padded to HEAD_DIM and scaled by
    (HEAD_DIM / D)^(1/4), which keeps every score <q, k> / sqrt(HEAD_DIM) as it
    was in R^D."""
    rng = np.random.default_rng(seed)
    sphere_k = rng.normal(size=(pool, D))
    sphere_k *= 4.0 / np.linalg.norm(sphere_k, axis=1, keepdims=True)
    sphere_q = rng.normal(size=(NQ, D))
    sphere_q *= 4.0 / np.linalg.norm(sphere_q, axis=1, keepdims=True)
    gauss_k, gauss_q = rng.normal(size=(pool, D)), rng.normal(size=(NQ, D))

    def padded(*heads):
        x = np.stack(heads)[None] * (HEAD_DIM / D) ** 0.25
        return np.pad(x, [(0, 0)] * 3 + [(0, HEAD_DIM - D)]).astype(np.float32)

    q = padded(sphere_q, gauss_q) if queries is None else queries
    k = padded(sphere_k, gauss_k) if keys is None else keys
    return HeadPools(
        queries=q,
        keys=k,
        seq_len=np.array([148, 108]),
        real_max_weight=np.array([[[0.9, 0.1]], [[0.7, 0.1]]]),
        real_entropy=np.array([[[0.5, 3.0]], [[0.7, 3.2]]]),
        special_mass=np.array([[special, 0.1]]),
        head_dim=HEAD_DIM,
        corpus="synthetic",
    )


SCHEDULES = {"qwen": QwenLogN(1.0, 512.0), "big": Constant(100.0)}


@pytest.fixture(scope="module")
def pools():
    return _pools()


@pytest.fixture(scope="module")
def report(pools):
    return analyze_heads(
        pools, jax.random.key(7), ns=NS, num_contexts=CONTEXTS, schedules=SCHEDULES, schedule_ns=(1000, 1e5)
    )


def _brute_force_t_star(queries, keys, n, rng, contexts=2000, level=0.5):
    """Independent dense brute force in float64: contexts of one random query and
    n keys drawn with replacement; bisection in log t on the mean max weight;
    standard error by the delta method (slope by a central difference)."""
    qi = rng.integers(0, queries.shape[0], contexts)
    ki = rng.integers(0, keys.shape[0], (contexts, n))
    # Every query-key score once (float64), then each context's scores by index:
    # no (contexts, n, head_dim) gather of the keys.
    scores = queries.astype(np.float64) @ keys.astype(np.float64).T / math.sqrt(keys.shape[1])
    s = scores[qi[:, None], ki]
    s -= s.max(axis=1, keepdims=True)

    def max_w(t):
        return 1.0 / np.exp(t * s).sum(axis=1)

    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if max_w(math.exp(mid)).mean() < level else (lo, mid)
    t = math.exp(0.5 * (lo + hi))
    values = max_w(t)
    slope = (max_w(t * 1.01).mean() - max_w(t / 1.01).mean()) / (2 * math.log(1.01))  # d E / d log t
    return t, t * values.std(ddof=1) / math.sqrt(contexts) / slope


@pytest.mark.parametrize("head", [0, 1])
def test_t_star_matches_brute_force(pools, report, head):
    rng = np.random.default_rng(100 + head)
    q, k = np.asarray(pools.queries[0, head]), np.asarray(pools.keys[0, head])
    for i in (0, 2):  # n = 100 and 1000
        t_bf, se_bf = _brute_force_t_star(q, k, NS[i], rng)
        t, se = float(report.t_star[0, head, i]), float(report.t_star_stderr[0, head, i])
        z = (t - t_bf) / math.hypot(se, se_bf)
        assert abs(z) < 4, f"head {head}, n = {NS[i]}: {t} ± {se} vs brute force {t_bf} ± {se_bf}"
        assert se / t < 0.1


def test_report_shapes_and_consistency(report):
    assert report.shape == (1, 2)
    assert report.t_star.shape == (1, 2, 3) and report.schedule_ratio.shape == (1, 2, 2, 2)
    assert bool(np.all(report.t_star_converged))
    # t* grows with n; the sphere head follows the power law with p near 2/alpha = 2/3 (finite-size: a bit above)
    assert np.all(np.diff(np.asarray(report.t_star), axis=-1) > 0)
    assert 0.5 < float(report.power_exponent[0, 0]) < 0.9
    assert abs(float(report.alpha[0, 0]) - 3.0) < 0.6
    # E[max w] at t = 1 and t*: the horizon is where t* crosses 1, consistent with the t* grid
    t_star = np.asarray(report.t_star[0, 0])
    censored = int(report.horizon_censored[0, 0])
    assert censored == (-1 if t_star[0] > 1 else 1 if t_star[-1] < 1 else 0)
    assert report.real_length == 128
    assert np.isclose(float(report.real_max_weight[0, 0]), 0.8) and np.isclose(float(report.real_entropy[0, 1]), 3.1)


def test_schedule_regimes_by_hand(report):
    names = report.schedule_names
    assert names == ("qwen", "big")
    multiplier = np.asarray(report.schedule_multiplier)
    np.testing.assert_allclose(multiplier[0], [math.log(1000) / math.log(512), math.log(1e5) / math.log(512)], 1e-5)
    np.testing.assert_allclose(multiplier[1], [100.0, 100.0])
    assert np.asarray(report.schedule_extrapolated).tolist() == [False, True]
    for head in range(2):
        t_1000 = float(report.t_star[0, head, 2])
        assert float(report.schedule_t_star[0, head, 0]) == pytest.approx(t_1000)
        ratio = np.asarray(report.schedule_ratio[0, head])
        assert ratio[0, 0] == pytest.approx(multiplier[0, 0] / t_1000, rel=1e-5)
        expected = -1 if ratio[0, 0] < 0.5 else 1 if ratio[0, 0] > 2 else 0
        assert int(report.schedule_regime[0, head, 0, 0]) == expected
        assert int(report.schedule_regime[0, head, 1, 0]) == 1  # 100 >> t*(1e3)
        expected = np.where(ratio < 0.5, -1, np.where(ratio > 2, 1, 0))
        assert np.asarray(report.schedule_regime[0, head]).tolist() == expected.tolist()
        # along the preferred law t* at 1e5 is above t*(1e3)
        assert float(report.schedule_t_star[0, head, 1]) > t_1000


def test_schedule_horizon_hand_computable():
    def t_star(n):
        return 0.01 * n**0.5  # t* = 1 at n = 1e4

    assert schedule_horizon(lambda n: np.ones_like(n), t_star, 2.0) == pytest.approx((4.0, 0), abs=1e-9)
    # log-n growth: ln n / ln 100 = 0.01 sqrt(n) near n = 3.7e5 (solved here independently by bisection)
    lo, hi = 4.0, 7.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.log(10**mid) / math.log(100) >= 0.01 * 10 ** (mid / 2) else (lo, mid)
    log10_n, censored = schedule_horizon(lambda n: np.log(n) / math.log(100), t_star, 2.0)
    assert censored == 0 and log10_n == pytest.approx(lo, abs=2e-3)
    assert schedule_horizon(lambda n: 1e9 * np.ones_like(n), t_star, 2.0) == (12.0, 1)
    assert schedule_horizon(lambda n: 1e-9 * np.ones_like(n), t_star, 2.0) == (2.0, -1)


def test_selectivity_horizon_interpolates_and_censors():
    log10_n, se, censored = selectivity_horizon([1e2, 1e3, 1e4], [0.8, 0.6, 0.3], [0.01, 0.01, 0.01])
    assert censored == 0 and log10_n == pytest.approx(3.0 + 0.1 / 0.3)
    # delta method: d/da = (L - b)/(a - b)^2, d/db = (a - L)/(a - b)^2 (decades per unit of E[max w])
    assert se == pytest.approx(math.hypot(0.2 / 0.09, 0.1 / 0.09) * 0.01)
    assert selectivity_horizon([1e2, 1e3], [0.4, 0.3], [0.0, 0.0])[::2] == (2.0, -1)
    assert selectivity_horizon([1e2, 1e3], [0.9, 0.7], [0.0, 0.0])[::2] == (3.0, 1)


@pytest.mark.parametrize("law", LAWS)
def test_fits_pick_the_law_the_data_follow(law):
    rng = np.random.default_rng(LAWS.index(law))
    ns = np.geomspace(1e2, 1e5, 7)
    truth = {"power": 0.5 * ns**0.3, "sqrt-log": 2.0 * np.sqrt(np.log(ns)), "log": 0.7 * np.log(ns)}[law]
    se = 0.01 * truth
    fits = fit_scaling_laws(ns, truth + se * rng.normal(size=ns.size), se)
    assert LAWS[int(fits.best)] == law and bool(fits.decided)
    best = int(fits.best)
    assert float(fits.chi2[best]) < float(fits.dof[best]) + 4 * math.sqrt(2 * float(fits.dof[best]))
    assert np.asarray(fits.dof).tolist() == [5, 6, 6]


def test_fits_undecided_when_errors_are_large():
    ns = np.array([1e2, 3e2, 1e3])
    fits = fit_scaling_laws(ns, np.log(ns), 0.5 * np.log(ns))
    assert not bool(fits.decided)


def test_score_exponent_on_sphere_scores():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 60_000, 5))  # uniform on S^4, fixed query: alpha = 4
    est = estimate_score_exponent(3.0 * x[..., 0] / np.linalg.norm(x, axis=-1), k=200)
    assert abs(est.alpha - 4.0) < 4 * est.stderr + 0.3
    assert est.critical_exponent == pytest.approx(2 / est.alpha)


def test_json_round_trip(report):
    payload = json.loads(json.dumps(report_to_json(report)))
    assert payload["meta"]["corpus"] == "synthetic" and len(payload["heads"]) == 2
    back = report_from_json(payload)
    for name, value in vars(report).items():
        other = getattr(back, name)
        if isinstance(value, jax.Array):
            np.testing.assert_allclose(np.asarray(other), np.asarray(value), rtol=1e-6, err_msg=name)
        else:
            assert other == value, name


def test_flags(report):
    labels = report.labels()
    # head 0: real max weight 0.8 against an i.i.d. ~0.1-0.3 at t = 1 -> sharper; head 1 is Gaussian, flatter or not
    assert "sharper" in labels[0][0]["flags"]
    assert labels[0][0]["law"] in (*LAWS, "undecided")
    sink = analyze_heads(
        _pools(pool=TINY_POOL, special=0.7),
        jax.random.key(1),
        ns=TINY_NS,
        num_contexts=32,
        heads=[(0, 0)],
        schedules=SCHEDULES,
    )
    assert "sink" in sink.labels()[0][0]["flags"]
    assert np.all(np.isnan(np.asarray(sink.t_star[0, 1])))  # not analysed


def test_published_schedules_are_one_at_the_train_length():
    for name, schedule in published_schedules(512).items():
        assert float(schedule(511.0)) == pytest.approx(1.0, rel=1e-3), name
        assert float(schedule(1e6)) > 1.0, name


def test_bad_input(pools):
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="beyond what the pool supports"):
        analyze_heads(pools, key, ns=(100, 1000, POOL // 5))
    with pytest.raises(ValueError, match="level must be in the open interval"):
        analyze_heads(pools, key, ns=NS, level=1.5)
    with pytest.raises(ValueError, match="level must exceed 1/n"):
        analyze_heads(pools, key, ns=(50, 100, 300), level=0.01)
    with pytest.raises(ValueError, match="at least 3 distinct"):
        analyze_heads(pools, key, ns=(100, 300))
    with pytest.raises(ValueError, match="4-D"):
        analyze_heads(_pools(queries=np.zeros((2, NQ, HEAD_DIM), np.float32)), key, ns=NS)
    with pytest.raises(ValueError, match="must agree"):
        analyze_heads(_pools(queries=np.zeros((1, 2, NQ, HEAD_DIM + 1), np.float32)), key, ns=NS)
    with pytest.raises(ValueError, match="heads:"):
        analyze_heads(pools, key, ns=NS, heads=[(3, 0)])
    with pytest.raises(TypeError, match="schedules must be a mapping"):
        analyze_heads(pools, key, ns=NS, schedules=[QwenLogN()])
    with pytest.raises(TypeError, match="float array"):
        head_scores(np.zeros((3, 2), int), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="need at least 3"):
        fit_scaling_laws([1e2, 1e3], [1.0, 2.0], [0.1, 0.1])


# The command line, in-process. Bad input is refused before the model is loaded.


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n", "100", "300", "20000"], "--n 20000 is beyond what the pool supports"),
        (["--n", "100", "300"], "--n needs at least 3"),
        (["--level", "1.5"], "--level must be in (1/n, 1) for the smallest n = 100"),
        (["--contexts", "4"], "--contexts must be >= 16"),
        (["--schedule", "nope"], "--schedule: unknown schedule"),
        (["--seq-len", "600"], "--seq-len must be in"),
    ],
)
def test_cli_bad_input(argv, message, capsys):
    from lattn_jax.cli import main

    assert main(["heads", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("lattn: error: ") and message in err and err.count("\n") == 1


def test_cli_text_too_short_names_the_flags(tmp_path, capsys):
    from lattn_jax.cli import main

    text = tmp_path / "short.txt"
    text.write_text("Attention is all you need, said the paper. " * 40)
    assert main(["heads", "--text", str(text), "--keys", "1000", "--queries", "16", "--n", "20", "50", "100"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "too few for --keys 1000: it needs at least 1020 (--seq-len 512)" in err and "longer --text" in err


# The two real-model tests share the forward pass's compiled program (--seq-len 128, one
# sequence per batch) through the session's compilation cache; the CLI run shares analyze_heads'
# programs with test_flags (pools of the same shapes, 32 contexts), the other test with the
# synthetic report (CONTEXTS).
@pytest.mark.slow
def test_cli_tiny_run_on_the_real_model(tmp_path, capsys):
    from lattn_jax.cli import main

    path, plot = tmp_path / "heads.json", tmp_path / "heads.png"
    argv = ["heads", "--keys", str(TINY_POOL), "--queries", str(NQ), "--seq-len", "128", "--n", *map(str, TINY_NS)]
    argv += ["--contexts", "32", "--json", str(path), "--plot", str(plot), "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    payload = json.loads(path.read_text())
    assert len(payload["heads"]) == 72 and payload["config"]["corpus_sha256"]
    assert payload["config"]["ns"] == list(TINY_NS) and plot.stat().st_size > 10_000
    table = [line for line in out.splitlines() if line[:5].strip().isdigit()]
    assert len(table) == 72
    back = report_from_json({"meta": payload["meta"], "heads": payload["heads"]})
    assert back.shape == (6, 12)


@pytest.mark.slow
def test_t_star_on_real_keys_matches_brute_force():
    """The real model's keys (all-MiniLM-L6-v2 on the stdlib corpus, [CLS]/[SEP]
    left out as in the analysis): t*(n) of two heads at two n against the
    independent float64 brute force on the same queries and keys, |z| < 4."""
    from lattn_jax.models import default_corpus, gather_pools, load_bert

    pools = gather_pools(
        load_bert(), default_corpus(), num_keys=160 * 128, num_queries=NQ, seq_len=128, key=jax.random.key(3)
    )
    heads, ns = [(0, 2), (5, 0)], NS
    report = analyze_heads(pools, jax.random.key(4), ns=ns, num_contexts=CONTEXTS, num_queries=NQ, heads=heads)
    text = ~np.asarray(pools.special_keys)
    assert np.asarray(pools.keys)[0, 0][text].shape == (POOL, HEAD_DIM)  # the synthetic pools' shapes
    for layer, head in heads:
        rng = np.random.default_rng(10 * layer + head)
        q, k = np.asarray(pools.queries[layer, head]), np.asarray(pools.keys[layer, head])[text]
        for i in (0, 2):
            t_bf, se_bf = _brute_force_t_star(q, k, ns[i], rng)
            t, se = float(report.t_star[layer, head, i]), float(report.t_star_stderr[layer, head, i])
            z = (t - t_bf) / math.hypot(se, se_bf)
            assert abs(z) < 4, f"({layer}, {head}), n = {ns[i]}: {t} ± {se} vs brute force {t_bf} ± {se_bf}"
