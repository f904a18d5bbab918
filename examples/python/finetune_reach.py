#!/usr/bin/env python3
"""WSRL from Python on a task written in numpy: pretrain Cal-QL offline on a
D4RL-format dataset, then fine-tune online without the offline data (warmup,
then SAC-ensemble updates), and plot the learning curve.

    PYTHONPATH=build/python python3 examples/python/finetune_reach.py [out_dir] [--quick]

Writes out_dir/curve.csv, and out_dir/curve.png when matplotlib is installed
(Debian: python3-matplotlib). A few minutes on two idle cores; --quick runs
a tenth of the steps (a smoke run, not a result).
"""
import csv
import os
import sys
import types

import numpy as np

import wsrl

MAX_STEPS = 40


class Box:
    def __init__(self, low, high, shape):
        self.shape, self.low, self.high = shape, np.full(shape, low, np.float32), np.full(shape, high, np.float32)


class Reach:
    """A point in the plane that should reach a goal; Gymnasium's interface,
    no Gymnasium needed. obs = (position, goal); reward = -distance, +10 and
    the end of the episode within 0.1 of the goal."""

    def __init__(self):
        self.observation_space = Box(-np.inf, np.inf, (4,))
        self.action_space = Box(-1.0, 1.0, (2,))
        self.spec = types.SimpleNamespace(max_episode_steps=MAX_STEPS)
        self.rng = np.random.default_rng(0)

    def _obs(self):
        return np.concatenate([self.x, self.goal]).astype(np.float32)

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.x, self.goal = self.rng.uniform(-1, 1, 2), self.rng.uniform(-1, 1, 2)
        return self._obs(), {}

    def step(self, action):
        self.x = np.clip(self.x + 0.1 * np.asarray(action), -1.5, 1.5)
        d = float(np.linalg.norm(self.x - self.goal))
        done = d < 0.1
        return self._obs(), -d + (10.0 if done else 0.0), done, False, {}


def write_dataset(path, episodes=100, seed=1):
    """A mediocre behaviour policy (a noisy controller), exported in D4RL's HDF5 layout."""
    env, rng = Reach(), np.random.default_rng(seed)
    buf = wsrl.ReplayBuffer(4, 2, episodes * MAX_STEPS)
    for ep in range(episodes):
        obs, _ = env.reset(seed=10000 + ep)
        for t in range(MAX_STEPS):
            a = np.clip(2.0 * (obs[2:] - obs[:2]) + rng.normal(0, 0.7, 2), -1, 1)
            nxt, r, term, _, _ = env.step(a)
            buf.add(obs, a, r, nxt, terminated=term, truncated=t == MAX_STEPS - 1 and not term)
            obs = nxt
            if term:
                break
    buf.to_hdf5(path)


def main(out_dir, quick=False):
    scale = 10 if quick else 1
    os.makedirs(out_dir, exist_ok=True)
    data_path = os.path.join(out_dir, "reach.hdf5")
    write_dataset(data_path)
    cfg = wsrl.Config({"agent.algorithm": "calql", "actor.hidden": [64, 64], "critic.hidden": [64, 64],
                       "agent.threads": 2, "finetune.warmup_steps": 500 // scale, "log.interval": 500 // scale,
                       "eval.interval": 500 // scale, "eval.episodes": 10})
    # The dataset takes the discount and reward transform the agent's config uses.
    dataset = wsrl.ReplayBuffer.from_hdf5(data_path, config=cfg, max_episode_steps=MAX_STEPS)
    print("dataset:", dataset, dataset.report)
    agent = wsrl.Agent(cfg, Reach())
    curve = []

    def progress(step, m):
        if "eval/return_mean" in m:
            curve.append((step, m["eval/return_mean"]))
            print("env step %6d  eval return %8.2f" % (step, m["eval/return_mean"]))

    wsrl.pretrain(agent, dataset, 2000 // scale,
                  progress=lambda s, m: print("pretrain %5d  critic loss %.3f" % (s, m["critic_loss"])) if s % (500 // scale) == 0
                  else None)
    dataset.close()  # WSRL keeps no offline data
    with wsrl.Session(agent) as session:
        wsrl.finetune(session, Reach(), 5000 // scale, eval_env=Reach(), progress=progress)
    agent.save(os.path.join(out_dir, "agent.ckpt"))

    with open(os.path.join(out_dir, "curve.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["env_steps", "eval_return_mean"])
        w.writerows(curve)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: wrote", os.path.join(out_dir, "curve.csv"))
        return
    plt.plot([s for s, _ in curve], [r for _, r in curve], marker="o")
    plt.xlabel("online env steps")
    plt.ylabel("eval return (10 episodes)")
    plt.title("WSRL fine-tuning from Python (Cal-QL pretrained)")
    plt.savefig(os.path.join(out_dir, "curve.png"), dpi=100)
    print("wrote", os.path.join(out_dir, "curve.png"))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--quick"]
    main(args[0] if args else "runs/python-reach", quick="--quick" in sys.argv[1:])
