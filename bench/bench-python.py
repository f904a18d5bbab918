#!/usr/bin/env python3
"""The Python binding's overheads, as 'name value unit' lines:
single-observation act() latency through wsrl (against bench-policy's C
figure for the same 256x256 actor), and the per-step cost of a Python env
during the WSRL warmup against the same loop with bench-env-step's trivial
C env (env-trivial.c, loaded from the bench-env-trivial module into this
process) and with bare cffi callbacks that only write zeros (the cost of
entering Python at all, which no binding over the callback API avoids).

C and Python alternate: bench-policy and the act() loop for ROUNDS rounds,
blocks of BLOCK warmup steps with each env (short enough to run between
preemptions on a loaded machine); each
figure is the best round or block, which a loaded machine disturbs least.
Targets: act <= 2x the C figure, a Python env step <= 2 us over the C env's.

    PYTHONPATH=build/python python3 bench/bench-python.py [build/bench]
"""
import os
import subprocess
import sys
import time

import cffi
import numpy as np

import wsrl

OBS, ACT, CALLS, BLOCK, BLOCKS, ROUNDS = 17, 6, 20000, 200, 150, 3


def c_act_p50(bench_dir):
    path = os.path.join(bench_dir, "bench-policy")
    if not os.access(path, os.X_OK):
        return None
    for line in subprocess.run([path], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "agent_act_det_p50":
            return float(parts[1])
    return None


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


def _session():
    cfg = wsrl.Config({"agent.threads": 1, "agent.algorithm": "sac", "finetune.warmup_steps": 1000000,
                       "replay.capacity": 100000})
    return wsrl.Session(wsrl.Agent(cfg, obs_dim=OBS, act_dim=ACT, max_episode_steps=1000))


def _raw_env(reset, step, keep):
    """A wsrl env handle over two C function pointers (@keep stays alive with it)."""
    ffi, lib, check = wsrl.ffi, wsrl.lib, wsrl._lib.check
    cb, spec = ffi.new("wsrl_env_callbacks_t *"), ffi.new("wsrl_env_spec_t *")
    check(lib.wsrl_env_callbacks_init(cb, ffi.sizeof("wsrl_env_callbacks_t")))
    check(lib.wsrl_env_spec_init(spec, ffi.sizeof("wsrl_env_spec_t")))
    cb.reset, cb.step = reset, step
    spec.obs_dim, spec.act_dim, spec.max_episode_steps = OBS, ACT, 1000
    p = ffi.new("wsrl_env_t **")
    check(lib.wsrl_env_create(p, spec, cb, ffi.NULL))
    return wsrl._lib.Handle(p[0], lib.wsrl_env_destroy, deps=[keep])


def c_env(bench_dir):
    """A wsrl env over env-trivial.c's callbacks (None when the module is not built)."""
    path = os.path.join(bench_dir, "bench-env-trivial.so")
    if not os.path.exists(path):
        return None
    mod_ffi = cffi.FFI()
    mod_ffi.cdef("int32_t bench_trivial_reset(void *, uint64_t, float *);"
                 "int32_t bench_trivial_step(void *, const float *, float *, float *, int32_t *, int32_t *);")
    mod = mod_ffi.dlopen(path)

    def fn(kind, f):
        return wsrl.ffi.cast(kind, int(mod_ffi.cast("uintptr_t", f)))
    return _raw_env(fn("wsrl_env_reset_fn", mod.bench_trivial_reset), fn("wsrl_env_step_fn", mod.bench_trivial_step),
                    keep=mod)


def floor_env():
    """The least a Python env can cost: cffi callbacks that only write zeros
    (what any binding over wsrl_env_create pays to enter Python each step)."""
    ffi, lib, zeros = wsrl.ffi, wsrl.lib, np.zeros(OBS, np.float32)

    def reset(user, seed, obs):
        ffi.memmove(obs, zeros, 4 * OBS)
        return 0

    def step(user, action, obs, reward, terminated, truncated):
        ffi.memmove(obs, zeros, 4 * OBS)
        reward[0], terminated[0], truncated[0] = 0.0, 0, 0
        return 0
    cbs = (ffi.callback("wsrl_env_reset_fn", reset), ffi.callback("wsrl_env_step_fn", step))
    return _raw_env(*cbs, keep=cbs)


def env_steps(bench_dir):
    """Per-step warmup time with the C env, the bare-callback env and the
    wsrl.Env over a Python object: the fastest of BLOCKS alternating blocks each."""
    envs = {"c": c_env(bench_dir), "floor": floor_env()}
    pyenv = wsrl.Env(Trivial(), max_episode_steps=1000)
    sessions = {name: _session() for name in ("python", "floor", "c")}

    def raw(name):
        def run(n):
            wsrl._lib.check(wsrl.lib.wsrl_finetune(sessions[name]._ptr, envs[name].ptr, wsrl.ffi.NULL, n,
                                                   wsrl.ffi.NULL, wsrl.ffi.NULL))
        return run
    runs = {"python": lambda n: wsrl.finetune(sessions["python"], pyenv, n), "floor": raw("floor")}
    if envs["c"] is not None:
        runs["c"] = raw("c")
    best = {}
    for run in runs.values():
        run(2000)  # warm caches
    for _ in range(BLOCKS):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run(BLOCK)
            best[name] = min(best.get(name, float("inf")), (time.perf_counter() - t0) / BLOCK * 1e6)
    return best


def main():
    bench_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "bench")
    agent = wsrl.Agent({"agent.threads": 1}, obs_dim=OBS, act_dim=ACT)
    c50, p50, p99 = [], [], []
    for _ in range(ROUNDS):
        c50.append(c_act_p50(bench_dir))
        a, b = act_latency(agent)
        p50.append(a)
        p99.append(b)
    print("python_agent_act_det_p50 %.2f us" % min(p50))
    print("python_agent_act_det_p99 %.2f us" % min(p99))
    if None not in c50:
        print("c_agent_act_det_p50 %.2f us" % min(c50))
        print("python_act_over_c %.2f x" % (min(p50) / min(c50)))
    step = env_steps(bench_dir)
    print("python_env_warmup_step %.2f us" % step["python"])
    print("python_bare_callback_warmup_step %.2f us" % step["floor"])
    if "c" in step:
        print("c_env_warmup_step %.2f us" % step["c"])
        print("python_env_overhead %.2f us" % (step["python"] - step["c"]))
        print("python_bare_callback_overhead %.2f us" % (step["floor"] - step["c"]))


if __name__ == "__main__":
    main()
