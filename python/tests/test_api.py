"""Config as a mapping, errors with status and message, numpy shapes."""
import numpy as np
import pytest

import wsrl


def test_config_mapping_types_and_errors():
    c = wsrl.Config({"actor.hidden": [8, 8]})
    assert "agent.algorithm" in c and len(c) == len(list(c.keys())) > 10
    assert c["actor.hidden"] == [8, 8] and isinstance(c["agent.algorithm"], str)
    c["eval.episodes"] = 3
    assert c["eval.episodes"] == 3
    with pytest.raises(KeyError):
        c["no.such_key"]
    with pytest.raises(KeyError):
        c["no.such_key"] = 1
    with pytest.raises(ValueError, match="actor.hidden"):
        c["actor.hidden"] = "wide"
    with pytest.raises(ValueError, match="agent.algorithm"):
        c["agent.algorithm"] = "ppo"
    info = wsrl.Config.info("agent.algorithm")
    assert info["type"] == "enum" and "sac" in info["choices"] and info["doc"]
    again = wsrl.Config.from_string(c.to_string())
    assert again.to_string() == c.to_string() and again["actor.hidden"] == [8, 8]
    d = c.copy()
    d["eval.episodes"] = 4
    assert c["eval.episodes"] == 3


def test_errors_carry_status_and_message(tmp_path):
    with pytest.raises(wsrl.Error) as e:
        wsrl.Agent.from_checkpoint(tmp_path / "missing.ckpt")
    assert e.value.status == wsrl.lib.WSRL_ERR_IO and isinstance(e.value, OSError)
    assert "missing.ckpt" in e.value.message
    with pytest.raises(wsrl.InvalidArgumentError) as e:
        wsrl.ReplayBuffer(0, 2, 10)
    assert e.value.status == -1 and e.value.status_name == "invalid argument" and e.value.message


def test_act_shapes():
    a = wsrl.Agent({"actor.hidden": [8], "critic.hidden": [8], "agent.threads": 1}, obs_dim=3, act_dim=2)
    assert a.act([0, 0, 0]).shape == (2,)
    assert a.act(np.zeros((5, 3))).shape == (5, 2)
    with pytest.raises(ValueError, match="obs"):
        a.act(np.zeros(4))
    with pytest.raises(wsrl.NonFiniteError):
        a.act([np.nan, 0, 0])
    assert set(a.counters) >= {"updates", "phase"}
