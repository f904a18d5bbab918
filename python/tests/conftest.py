"""Shared pieces of the python suite: a numpy task, its D4RL-format dataset, small configs."""
import os
import types

import numpy as np
import pytest

import wsrl

SOURCE_ROOT = os.environ.get("WSRL_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_ROOT = os.environ.get("WSRL_BUILD_ROOT", "")


class Box:
    def __init__(self, low, high, shape):
        self.low, self.high, self.shape = np.full(shape, low, np.float32), np.full(shape, high, np.float32), shape


class Reach:
    """Gymnasium-style 2-D point that should reach the origin (no gymnasium needed).

    Actions in [-2, 2]^2 (the library scales from [-1, 1]); reward -|x|;
    an episode ends (terminated) within 0.1 of the goal."""

    def __init__(self, fail_at=None):
        self.observation_space = Box(-np.inf, np.inf, (2,))
        self.action_space = Box(-2.0, 2.0, (2,))
        self.x = np.zeros(2, np.float32)
        self.rng = np.random.default_rng(0)
        self.steps = 0
        self.fail_at = fail_at
        self.spec = types.SimpleNamespace(max_episode_steps=MAX_STEPS)  # as gymnasium's EnvSpec

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.x = self.rng.uniform(-1, 1, 2).astype(np.float32)
        return self.x.copy(), {}

    def step(self, action):
        self.steps += 1
        if self.fail_at is not None and self.steps >= self.fail_at:
            raise ValueError("the simulator broke at step %d" % self.steps)
        self.x = np.clip(self.x + 0.1 * np.asarray(action, np.float32), -2, 2).astype(np.float32)
        d = float(np.linalg.norm(self.x))
        return self.x.copy(), -d, d < 0.1, False, {}


MAX_STEPS = 30

SMALL = {"actor.hidden": [32, 32], "critic.hidden": [32, 32], "critic.ensemble_size": 2, "critic.subsample": 2,
         "agent.threads": 1, "log.interval": 20, "eval.episodes": 5, "eval.interval": 0,
         "finetune.warmup_steps": 60, "finetune.start_rule": "warmup", "replay.capacity": 5000}


def small_config(**extra):
    return wsrl.Config(dict(SMALL, **extra))


def scripted_dataset(path, episodes=40, seed=1):
    """A D4RL-format HDF5 file of a noisy proportional controller on Reach."""
    h5py = pytest.importorskip("h5py", reason="python3-h5py is needed to write the D4RL-format dataset")
    env, rng = Reach(), np.random.default_rng(seed)
    cols = {k: [] for k in ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")}
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed * 1000 + ep)
        for t in range(MAX_STEPS):
            a = np.clip(-3.0 * obs + rng.normal(0, 0.8, 2), -2, 2).astype(np.float32)
            nxt, r, term, _, _ = env.step(a)
            for k, v in zip(cols, (obs, a, r, nxt, term, t == MAX_STEPS - 1 and not term)):
                cols[k].append(v)
            obs = nxt
            if term:
                break
    with h5py.File(path, "w") as f:
        for k, v in cols.items():
            dt = bool if k in ("terminals", "timeouts") else np.float32
            f.create_dataset(k, data=np.asarray(v, dtype=dt))
    return len(cols["rewards"])
