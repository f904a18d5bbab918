"""Config as a mapping, errors with status and message, numpy shapes;
clear messages when a module the binding needs is missing."""
import os
import subprocess
import sys

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


def _run_without(module, code):
    """Run @code in a fresh interpreter where importing @module fails."""
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-c", "import sys; sys.modules[%r] = None\n" % module + code],
                          env=env, capture_output=True, text=True, timeout=60, cwd=os.path.dirname(__file__))


@pytest.mark.parametrize("module, package", [("cffi", "python3-cffi"), ("numpy", "python3-numpy"),
                                             ("pytest", "python3-pytest")])
def test_the_suite_skips_with_a_reason_without_a_module(module, package):
    r = _run_without(module, "import runpy; sys.argv = ['run.py', 'test_api.py']; runpy.run_path('run.py', "
                             "run_name='__main__')")
    assert r.returncode == 77, r.stdout + r.stderr
    assert "SKIP" in r.stdout and package in r.stdout


@pytest.mark.parametrize("module, package", [("cffi", "python3-cffi"), ("numpy", "python3-numpy")])
def test_importing_wsrl_without_a_module_names_the_package(module, package):
    r = _run_without(module, "import wsrl")
    assert r.returncode != 0 and "ImportError" in r.stderr and package in r.stderr, r.stderr
