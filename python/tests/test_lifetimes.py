"""Any garbage-collection order is safe: borrowed handles stay alive."""
import gc
import itertools

import numpy as np
import pytest

import wsrl
from conftest import Reach, small_config


def _build():
    cfg = small_config()
    agent = wsrl.Agent(cfg, Reach())
    offline = wsrl.ReplayBuffer(2, 2, 100)
    offline.add(np.zeros(2), np.zeros(2), 0.0, np.zeros(2))
    session = wsrl.Session(agent, offline=offline)
    env = wsrl.Env(Reach())
    return {"cfg": cfg, "agent": agent, "offline": offline, "session": session, "env": env}


@pytest.mark.parametrize("order", list(itertools.permutations(["cfg", "agent", "offline", "session", "env"]))[::17])
def test_any_drop_order_frees_everything(order):
    base = wsrl.live_handles()
    objs = _build()
    session, env = objs["session"], objs["env"]
    for name in order:
        if name not in ("session", "env"):
            del objs[name]
    gc.collect()
    # What the session borrows is still alive and usable.
    wsrl.finetune(session, env, 5)
    assert session.info["env_steps"] == 5
    del session, env
    objs.clear()
    gc.collect()
    assert wsrl.live_handles() == base


def test_cycles_are_collected_in_a_safe_order():
    base = wsrl.live_handles()
    objs = _build()
    a, s = objs["agent"], objs["session"]
    a.cycle, s.cycle = s, a  # a reference cycle through both wrappers
    objs.clear()
    del a, s
    gc.collect()
    assert wsrl.live_handles() == base


def test_context_managers_close_and_closed_handles_refuse():
    base = wsrl.live_handles()
    with wsrl.Agent(small_config(), Reach()) as agent:
        with wsrl.Session(agent) as s:
            s.act(np.zeros(2))
        # the session's C handle is gone; the agent is still open
        assert s.closed and not agent.closed
        with pytest.raises(ValueError, match="Session is closed"):
            s.act(np.zeros(2))
    with pytest.raises(ValueError, match="Agent is closed"):
        agent.act(np.zeros(2))
    assert wsrl.live_handles() == base


def test_closing_an_agent_a_session_uses_keeps_the_c_handle():
    agent = wsrl.Agent(small_config(), Reach())
    s = wsrl.Session(agent)
    agent.close()  # closes the wrapper only when the session still borrows it
    assert agent.closed
    assert s.act(np.zeros(2)).shape == (2,)
