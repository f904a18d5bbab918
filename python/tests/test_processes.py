"""multiprocessing: spawn works; fork refuses the parent's handles and
works with new single-threaded ones (docs/python.md)."""
import multiprocessing as mp

import numpy as np
import pytest

import wsrl
from conftest import Reach, small_config


def _act_from_checkpoint(path):
    import wsrl as w  # a fresh interpreter under spawn
    return w.Agent.from_checkpoint(path).act(np.zeros(2), deterministic=True).tobytes()


def test_spawn_children_use_the_library(tmp_path):
    agent = wsrl.Agent(small_config(), Reach())
    agent.save(tmp_path / "a.ckpt")
    with mp.get_context("spawn").Pool(2) as pool:
        got = pool.map(_act_from_checkpoint, [str(tmp_path / "a.ckpt")] * 2)
    assert got == [agent.act(np.zeros(2), deterministic=True).tobytes()] * 2


def _fork_child(agent, q):
    try:
        agent.act(np.zeros(2))
        q.put("parent handle worked")
    except RuntimeError as e:
        q.put("refused" if "before os.fork()" in str(e) else str(e))
    a = wsrl.Agent(small_config(**{"agent.threads": 1}), Reach())
    q.put(a.act(np.zeros(2), deterministic=True).shape)
    try:
        wsrl.Agent(small_config(**{"agent.threads": 2}), Reach()).act(np.zeros((300, 2)))
        q.put("multi-threaded ok")
    except wsrl.WrongStateError as e:
        q.put("wrong state" if "fork" in e.message else e.message)


def test_fork_refuses_parent_handles_and_allows_new_ones():
    agent = wsrl.Agent(small_config(**{"agent.threads": 2}), Reach())
    agent.act(np.zeros((300, 2)))  # the parent has run multi-threaded work
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_fork_child, args=(agent, q))
    p.start()
    p.join(60)
    if p.exitcode is None:
        p.kill()
        pytest.fail("the forked child hung")
    assert [q.get(timeout=5) for _ in range(3)] == ["refused", (2,), "wrong state"]
    assert p.exitcode == 0
    assert agent.act(np.zeros(2)).shape == (2,)  # the parent's handle is untouched
