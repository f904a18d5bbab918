#!/usr/bin/env python3
"""The Python binding's overheads, as 'name value unit' lines:
single-observation act() latency through wsrl (against bench-policy's C
figure for the same 256x256 actor), and the per-step cost of a Python env
callback during the WSRL warmup (against bench-env-step's C env).

The C and Python measurements alternate for ROUNDS rounds and each figure is
the best round (the env figures the fastest block of 2000 steps), so a loaded
machine disturbs the comparison less; the targets are act <= 2x the C figure
and a Python env step <= 2 us over the C env's.

    PYTHONPATH=build/python python3 bench/bench-python.py [build/bench]
"""
import os
import subprocess
import sys
import time

import numpy as np

import wsrl

OBS, ACT, CALLS, BLOCK, BLOCKS, ROUNDS = 17, 6, 20000, 2000, 10, 3


def c_figures(bench_dir):
    out = {}
    for exe in ("bench-policy", "bench-env-step"):
        path = os.path.join(bench_dir, exe)
        if os.access(path, os.X_OK):
            for line in subprocess.run([path], capture_output=True, text=True, check=True).stdout.splitlines():
                parts = line.split()
                if len(parts) == 3:
                    out[parts[0]] = float(parts[1])
    return out


def act_latency(agent):
    obs = np.random.default_rng(1).uniform(-1, 1, (64, OBS)).astype(np.float32)
    lat = np.empty(CALLS)
    clock = time.perf_counter_ns
    for i in range(-2000, CALLS):
        o = obs[i % 64]
        t0 = clock()
        agent.act(o, deterministic=True)
        t1 = clock()
        if i >= 0:
            lat[i] = (t1 - t0) * 1e-3
    return np.percentile(lat, 50), np.percentile(lat, 99)


class Box:
    def __init__(self, n):
        self.shape, self.low, self.high = (n,), -np.ones(n, np.float32), np.ones(n, np.float32)


class Trivial:
    """The Python twin of bench-env-step's C env: zeros, reward 0, never ends."""
    observation_space, action_space = Box(OBS), Box(ACT)

    def __init__(self):
        self.obs = np.zeros(OBS, np.float32)

    def reset(self, seed=None):
        return self.obs, {}

    def step(self, action):
        return self.obs, 0.0, False, False, {}


def python_env_step():
    """As bench-env-step: the fastest block's per-step time."""
    cfg = wsrl.Config({"agent.threads": 1, "agent.algorithm": "sac", "finetune.warmup_steps": 1000000})
    env = wsrl.Env(Trivial(), max_episode_steps=1000)
    agent = wsrl.Agent(cfg, env)
    with wsrl.Session(agent) as s:
        wsrl.finetune(s, env, 2000)
        best = float("inf")
        for _ in range(BLOCKS):
            t0 = time.perf_counter()
            wsrl.finetune(s, env, BLOCK)
            best = min(best, (time.perf_counter() - t0) / BLOCK * 1e6)
        return best


def main():
    bench_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "bench")
    agent = wsrl.Agent({"agent.threads": 1}, obs_dim=OBS, act_dim=ACT)
    c, p50, p99, step = {}, [], [], []
    for _ in range(ROUNDS):
        for k, v in c_figures(bench_dir).items():
            c[k] = min(v, c.get(k, v))
        a, b = act_latency(agent)
        p50.append(a)
        p99.append(b)
        step.append(python_env_step())
    p50, p99, step = min(p50), min(p99), min(step)
    print("python_agent_act_det_p50 %.2f us" % p50)
    print("python_agent_act_det_p99 %.2f us" % p99)
    if "agent_act_det_p50" in c:
        print("c_agent_act_det_p50 %.2f us" % c["agent_act_det_p50"])
        print("python_act_over_c %.2f x" % (p50 / c["agent_act_det_p50"]))
    print("python_env_warmup_step %.2f us" % step)
    if "c_env_warmup_step" in c:
        print("c_env_warmup_step %.2f us" % c["c_env_warmup_step"])
        print("python_env_overhead %.2f us" % (step - c["c_env_warmup_step"]))


if __name__ == "__main__":
    main()
