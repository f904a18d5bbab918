"""Exceptions in Python callbacks, progress cancellation, Ctrl-C, the GIL."""
import os
import signal
import sys
import threading
import time
import traceback

import numpy as np
import pytest

import wsrl
from conftest import MAX_STEPS, Reach, small_config


def _dataset(n=400):
    rng = np.random.default_rng(0)
    d = wsrl.ReplayBuffer(2, 2, n)
    term = np.zeros(n, bool)
    term[29::30] = True
    d.add_batch(rng.normal(size=(n, 2)), rng.uniform(-1, 1, (n, 2)), rng.normal(size=n), rng.normal(size=(n, 2)),
                term)
    return d


def test_env_exception_is_reraised_with_its_traceback():
    agent = wsrl.Agent(small_config(), Reach())
    env = wsrl.Env(Reach(fail_at=5))
    with pytest.raises(ValueError, match="broke at step 5") as e:
        wsrl.evaluate(agent, env, episodes=2)
    assert any(f.name == "step" for f in traceback.extract_tb(e.value.__traceback__))
    assert env.last_callback_code == 1
    # The library stopped cleanly: the env and agent still work.
    env.env.fail_at = None
    assert wsrl.evaluate(agent, env, episodes=1)["episodes"] == 1


def test_env_exception_stops_finetune_and_bad_observation_is_reported():
    agent = wsrl.Agent(small_config(), Reach())
    with wsrl.Session(agent) as s:
        with pytest.raises(ValueError, match="broke at step 7"):
            wsrl.finetune(s, Reach(fail_at=7), 100)
        assert s.info["env_steps"] == 6

        class Short(Reach):
            def reset(self, seed=None):
                return np.zeros(3), {}
        with pytest.raises(ValueError, match="observation has 3 values"):
            wsrl.finetune(s, Short(), 10)

        class ShortStep(Reach):
            def step(self, action):
                return np.zeros(3), 0.0, False, False, {}
        with pytest.raises(ValueError, match=r"observation has 3 values, observation_space.shape \(2,\) says 2"):
            wsrl.finetune(s, ShortStep(), 10)


def test_progress_exception_and_stop():
    agent, data = wsrl.Agent(small_config(), Reach()), _dataset()

    def boom(step, metrics):
        raise RuntimeError("progress failed at %d" % step)
    with pytest.raises(RuntimeError, match="progress failed at 20"):
        wsrl.pretrain(agent, data, 100, progress=boom)
    assert agent.counters["updates"] == 20
    wsrl.pretrain(agent, data, 100, progress=lambda step, m: step >= 60)  # a requested stop is no error
    assert agent.counters["updates"] == 60


def _interrupt_after(seconds):
    threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT)).start()


def test_ctrl_c_stops_pretrain_within_one_update():
    agent, data = wsrl.Agent(small_config(), Reach()), _dataset()
    wsrl.pretrain(agent, data, 5)
    t0 = time.perf_counter()
    wsrl.pretrain(agent, data, 20)
    per_update = (time.perf_counter() - t0) / 20
    _interrupt_after(0.3)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        wsrl.pretrain(agent, data, 100000)
    late = time.perf_counter() - t0 - 0.3
    done = agent.counters["updates"]
    assert 25 < done < 5000
    # one update takes per_update; allow for a loaded machine's timer and scheduler
    assert late < max(20 * per_update, 2.0), (late, per_update)
    wsrl.pretrain(agent, data, 1)  # still usable
    assert agent.counters["updates"] == done + 1


def test_ctrl_c_stops_finetune_with_a_python_env():
    agent = wsrl.Agent(small_config(), Reach())
    with wsrl.Session(agent) as s:
        _interrupt_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            wsrl.finetune(s, Reach(), 10 ** 7)
        assert 0 < s.info["env_steps"] < 10 ** 7


def test_gil_is_released_during_pretrain():
    agent, data = wsrl.Agent(small_config(), Reach()), _dataset()
    count, stop = [0], threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)  # gives the GIL back at once
    old = sys.getswitchinterval()
    # No forced switches: a thread that holds the GIL keeps it, so spin()
    # runs only while the main thread is inside a call that released it.
    sys.setswitchinterval(30.0)
    try:
        t = threading.Thread(target=spin)
        t.start()
        c0 = count[0]
        wsrl.pretrain(agent, data, 40)
        during = count[0] - c0
        stop.set()
        t.join()
    finally:
        sys.setswitchinterval(old)
    assert during > 100, during


def test_env_gets_its_own_action_array_each_step():
    class Recording(Reach):
        def step(self, action):
            self.seen.append((action, action.copy()))
            return super().step(action)
    env = Recording()
    env.seen = []
    wsrl.evaluate(wsrl.Agent(small_config(), Reach()), env, episodes=1)
    # arrays the env keeps are not overwritten by later steps
    assert len(env.seen) > 2 and len({c.tobytes() for _, c in env.seen}) > 2
    assert all(np.array_equal(a, c) and a.shape == (2,) and a.dtype == np.float32 for a, c in env.seen)


def test_actions_the_env_keeps_are_never_overwritten():
    """The env's action array is reused only while the env holds no reference
    to it: arrays kept in a list, through a view or a memoryview keep the
    action of their own step, and changing one in place changes nothing else."""
    class Keeping(Reach):
        def step(self, action):
            k = self.steps % 4
            if k == 0:
                self.kept.append((action, action.copy()))
            elif k == 1:
                self.kept.append((action[:], action.copy()))
            elif k == 2:
                self.kept.append((np.frombuffer(memoryview(action), np.float32), action.copy()))
            else:
                action *= 0.5  # the env may change its array; the next step's is rewritten
            return super().step(action)
    env = Keeping()
    env.kept = []
    wsrl.evaluate(wsrl.Agent(small_config(), Reach()), env, episodes=2)
    assert len(env.kept) > 10 and len({c.tobytes() for _, c in env.kept}) > 5
    for a, c in env.kept:
        assert np.array_equal(a, c), (a, c)


def _one_step(obs):
    """The obs the library gets when a (2,)-observation env's step returns @obs."""
    class Returns(Reach):
        def step(self, action):
            return obs, 0.5, False, False, {}
    e = wsrl.Env(Returns())
    out, act = np.zeros(2, np.float32), np.zeros(2, np.float32)
    reward, term, trunc = wsrl.ffi.new("float *"), wsrl.ffi.new("int32_t *"), wsrl.ffi.new("int32_t *")
    o = wsrl.ffi.from_buffer("float[]", out)
    wsrl._core._finish(wsrl.lib.wsrl_env_reset(e._ptr, 1, o), e._errors)
    st = wsrl.lib.wsrl_env_step(e._ptr, wsrl.ffi.from_buffer("float[]", act), o, reward, term, trunc)
    wsrl._core._finish(st, e._errors)
    assert reward[0] == 0.5 and term[0] == 0 and trunc[0] == 0
    return out


def test_step_observations_are_converted_or_refused():
    # observation_space's exact shape (one assignment): converted to float32 by value
    for obs in (np.array([0.5, -2.0]), np.array([0.5, -2.0], ">f4"), np.array([[0.5, 9, -2.0]])[0, ::2]):
        assert np.array_equal(_one_step(obs), [0.5, -2.0]), obs
    assert np.array_equal(_one_step(np.array([3, -4], np.int32)), [3.0, -4.0])  # values, not int bits
    # other shapes and types: flattened when the size is right, as reset() does
    assert np.array_equal(_one_step(np.array([[0.5], [-2.0]])), [0.5, -2.0])
    assert np.array_equal(_one_step([0.5, -2.0]), [0.5, -2.0])
    # a wrong size is refused, never broadcast
    for obs in (np.array([1.0], np.float32), np.float32(1.0), 1.0, np.zeros((2, 2), np.float32)):
        with pytest.raises(ValueError, match=r"observation has \d values, observation_space.shape \(2,\) says 2"):
            _one_step(obs)
    with pytest.raises(wsrl.NonFiniteError, match="non-finite observation"):
        _one_step(np.array([0.0, np.nan], np.float32))
    with pytest.raises(ValueError, match="could not convert"):
        _one_step(np.array(["a", "b"]))
