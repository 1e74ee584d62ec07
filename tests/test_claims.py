"""The claims API: the seed rule, the interval rule and the seeds a verdict rests on."""

import math

import pytest

from labkit import claims
from labkit.stats import mean_interval

FIELDS = dict(id="x", seed_report="000", claim="c", measurement="m", rule="r", profile="cpu")


def test_a_verdict_on_fewer_than_three_seeds_is_inconclusive_and_keeps_its_leaning():
    c = claims.Claim(verdict="supported", why="it held", seeds=2, seed_ids=[0, 1], **FIELDS)
    assert c.verdict == "inconclusive" and c.leaning == "supported"
    assert "2 training seeds" in c.why and "it held" in c.why
    d = claims.Claim(verdict="refuted", why="w", seeds=3, seed_ids=[0, 1, 2], **FIELDS)
    assert d.verdict == "refuted" and d.leaning is None


def test_a_deterministic_measurement_needs_no_seed():
    c = claims.Claim(verdict="supported", why="w", seeds=0, deterministic=True, **FIELDS)
    assert c.verdict == "supported" and c.seeds_text == "– (deterministic)"
    with pytest.raises(ValueError, match="seeds must be at least 1"):
        claims.Claim(verdict="supported", why="w", seeds=0, **FIELDS)


def test_seed_ids_must_name_as_many_seeds_as_counted():
    with pytest.raises(ValueError, match="seed_ids"):
        claims.Claim(verdict="supported", why="w", seeds=3, seed_ids=[0, 1], **FIELDS)
    with pytest.raises(ValueError, match="distinct"):
        claims.Claim(verdict="supported", why="w", seeds=3, seed_ids=[0, 0, 1], **FIELDS)
    c = claims.Claim(verdict="supported", why="w", seeds=3, seed_ids=[4, 5, 6], **FIELDS)
    assert c.seeds_text == "3 (4, 5, 6)"
    assert claims.rows([c])[0]["seeds"] == "3 (4, 5, 6)"


def test_against_threshold_needs_the_whole_t_interval_on_one_side():
    above = mean_interval([2.0, 2.1, 2.2])  # t(2) = 4.30: [1.75, 2.45]
    assert math.isclose(above.high - above.mean, 4.3027 * 0.1 / math.sqrt(3), rel_tol=1e-3)
    assert claims.against_threshold(above, 1.0, claimed="above", **FIELDS).verdict == "supported"
    assert claims.against_threshold(above, 1.0, claimed="below", **FIELDS).verdict == "refuted"
    straddles = claims.against_threshold(above, 2.0, claimed="above", **FIELDS)
    assert straddles.verdict == "inconclusive" and "straddles" in straddles.why
    single = claims.against_threshold(mean_interval([3.0]), 1.0, claimed="above", **FIELDS)
    assert single.verdict == "inconclusive" and single.leaning == "supported"


def test_claims_round_trip_through_the_run_folder(tmp_path):
    from labkit.train.rundir import RunDir

    run = RunDir.create("x", out_dir=tmp_path)
    written = claims.record(run, [claims.Claim(verdict="refuted", why="w", seeds=3,
                                               seed_ids=[0, 1, 2], value=1.0, low=0.5,
                                               high=1.5, **FIELDS)], chapter="ch")
    back = claims.load(run)
    assert [c.to_dict() for c in back] == [c.to_dict() for c in written]
    assert back[0].seed_ids == [0, 1, 2] and back[0].chapter == "ch"
