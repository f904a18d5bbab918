"""Agent introspection: parameters as numpy arrays in the documented layout,
log-probabilities, the algorithm, config and bounds."""
import numpy as np
import pytest

import wsrl
from conftest import Reach, small_config


def _actor_reference(params, obs, act_dim, hidden, uniform):
    """The actor's mean and std in numpy from its flat parameter vector
    (the layout include/wsrl/agent.h documents; LayerNorm on)."""
    x, fan_in, off = obs.astype(np.float64), obs.shape[1], 0
    outputs = hidden + [act_dim if uniform else 2 * act_dim]
    for i, fan_out in enumerate(outputs):
        w = params[off:off + fan_in * fan_out].reshape(fan_in, fan_out)
        off += fan_in * fan_out
        b = params[off:off + fan_out]
        off += fan_out
        x = x @ w + b
        if i < len(hidden):
            gain, bias = params[off:off + fan_out], params[off + fan_out:off + 2 * fan_out]
            off += 2 * fan_out
            x = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-6) * gain + bias
            x = np.maximum(x, 0)
        fan_in = fan_out
    if uniform:
        mean, log_std = x, np.broadcast_to(params[off:off + act_dim], x.shape)
        off += act_dim
    else:
        mean, log_std = x[:, :act_dim], x[:, act_dim:]
    assert off == params.size
    return mean, np.clip(np.exp(log_std), 1e-5, 10)


@pytest.mark.parametrize("std", ["exp", "uniform"])
def test_actor_params_and_log_prob_follow_the_documented_layout(std):
    agent = wsrl.Agent(small_config(**{"actor.std_parameterization": std}), Reach())
    rng = np.random.default_rng(0)
    # move away from the initialisation so every parameter matters
    params = agent.get_params("actor")
    agent.set_params("actor", params + rng.normal(0, 0.05, params.size).astype(np.float32))
    params = agent.get_params("actor")
    obs = rng.normal(size=(6, 2)).astype(np.float32)
    mean, sd = _actor_reference(params, obs, 2, [32, 32], std == "uniform")
    assert np.allclose(agent.act(obs, deterministic=True, unit=True), np.tanh(mean), atol=1e-5)
    a = rng.uniform(-0.95, 0.95, (6, 2))
    u = np.arctanh(a)
    ref = (-0.5 * ((u - mean) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi) - np.log(1 - a ** 2)).sum(1)
    assert np.allclose(agent.log_prob(obs, a, unit=True), ref, rtol=1e-4, atol=1e-4)
    # the env's [-2, 2] actions are the same density as their [-1, 1] units
    assert np.allclose(agent.log_prob(obs, 2 * a), agent.log_prob(obs, a, unit=True), atol=1e-5)
    assert isinstance(agent.log_prob(obs[0], 2 * a[0]), float)


def test_set_params_round_trips_bitwise_and_changes_what_it_sets():
    agent = wsrl.Agent(small_config(), Reach())
    assert agent.algorithm == "calql" and wsrl.ALGORITHMS[0] == "sac" and wsrl.NETS[0] == "actor"
    assert set(agent.nets) == {"actor", "critics", "target_critics", "temperature", "lagrange"} or \
        set(agent.nets) == {"actor", "critics", "target_critics", "temperature"}
    obs = np.random.default_rng(1).normal(size=(3, 2)).astype(np.float32)
    before, act = agent.get_params(), agent.act(obs, deterministic=True)
    assert np.all(act != 0)
    assert all(v.dtype == np.float32 and v.ndim == 1 for v in before.values())
    agent.set_params(before)  # every network back as it was: nothing changes
    assert agent.act(obs, deterministic=True).tobytes() == act.tobytes()
    critics = before["critics"].copy()
    critics[:10] += 1
    agent.set_params("critics", critics)
    assert np.array_equal(agent.get_params("critics"), critics)
    assert np.array_equal(agent.get_params("target_critics"), before["target_critics"])  # targets untouched
    assert agent.act(obs, deterministic=True).tobytes() == act.tobytes()
    agent.set_params(wsrl.lib.WSRL_NET_ACTOR, np.zeros_like(before["actor"]))
    assert np.all(agent.act(obs, deterministic=True) == 0)


def test_introspection_errors_name_the_problem():
    agent = wsrl.Agent(small_config(**{"agent.algorithm": "sac"}), Reach())
    with pytest.raises(wsrl.UnsupportedError):
        agent.get_params("value")  # only IQL has one
    with pytest.raises(KeyError, match="unknown network 'policy'"):
        agent.get_params("policy")
    before = agent.get_params("actor")
    n = before.size
    with pytest.raises(wsrl.InvalidArgumentError, match=str(n)):
        agent.set_params("actor", np.zeros(n + 1))
    bad = np.zeros(n, np.float32)
    bad[7] = np.nan
    with pytest.raises(wsrl.NonFiniteError, match="7"):
        agent.set_params("actor", bad)
    assert np.array_equal(agent.get_params("actor"), before)  # nothing changed on an error
    with pytest.raises(ValueError, match="action"):
        agent.log_prob(np.zeros(2), np.zeros(3))


def test_config_and_bounds_come_from_the_library(tmp_path):
    cfg = small_config(**{"agent.algorithm": "sac"})
    agent = wsrl.Agent(cfg, Reach())
    cfg["eval.episodes"] = 9  # the agent keeps the config it was created with
    assert agent.config["eval.episodes"] == 5 and agent.config["actor.hidden"] == [32, 32]
    low, high = agent.action_bounds
    assert np.array_equal(low, [-2, -2]) and np.array_equal(high, [2, 2])
    agent.save(tmp_path / "a.ckpt")
    restored = wsrl.Agent.from_checkpoint(tmp_path / "a.ckpt")
    assert restored.algorithm == "sac" and restored.config.to_string() == agent.config.to_string()
