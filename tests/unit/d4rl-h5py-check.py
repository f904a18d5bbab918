#!/usr/bin/python3
"""Files written the way D4RL's tools write them (h5py, numpy bool flags,
float32 arrays, extra keys and groups) must load as D4RL's
qlearning_dataset() reads them. Writes a dataset with h5py, runs the C helper
(import through libwsrl, export again), and compares the exported arrays with
this script's own rendering of qlearning_dataset's loop.

Usage: d4rl-h5py-check.py HELPER"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def qlearning(ds, max_episode_steps=0):
    """D4RL's qlearning_dataset (terminate_on_end=False), plus the episode ends
    libwsrl records: the kept row before a skipped one, and the last kept row."""
    n = ds["rewards"].shape[0]
    use_timeouts = "timeouts" in ds
    out = {k: [] for k in ("obs", "next", "act", "rew", "term", "trunc")}
    episode_step = 0
    for i in range(n - 1):
        final = bool(ds["timeouts"][i]) if use_timeouts else (
            max_episode_steps > 0 and episode_step == max_episode_steps - 1)
        if final:
            episode_step = 0
            if out["trunc"] and not out["term"][-1]:
                out["trunc"][-1] = True
            continue
        done = bool(ds["terminals"][i])
        if done or final:
            episode_step = 0
        out["obs"].append(ds["observations"][i])
        out["next"].append(ds["observations"][i + 1])
        out["act"].append(ds["actions"][i])
        out["rew"].append(ds["rewards"][i])
        out["term"].append(done)
        out["trunc"].append(False)
        episode_step += 1
    if out["trunc"] and not out["term"][-1]:
        out["trunc"][-1] = True
    return {k: np.array(v) for k, v in out.items()}


def make(path, n, obs_dim, act_dim, rng, with_timeouts):
    ds = {
        "observations": rng.standard_normal((n, obs_dim)).astype(np.float32),
        "actions": rng.uniform(-1, 1, (n, act_dim)).astype(np.float32),
        "rewards": rng.standard_normal(n).astype(np.float32),
        "terminals": rng.uniform(size=n) < 0.01,
    }
    if with_timeouts:
        t = np.zeros(n, dtype=bool)
        t[np.arange(99, n, 100)] = True
        t &= ~ds["terminals"]
        ds["timeouts"] = t
    with h5py.File(path, "w") as f:
        for k, v in ds.items():
            f.create_dataset(k, data=v, compression="gzip")
        f.create_dataset("infos/qpos", data=rng.standard_normal((n, 3)))  # extra keys, ignored
        f.create_dataset("metadata/algorithm", data=np.bytes_("SAC"))
    return ds


def check(helper, tmp, name, n, with_timeouts, max_steps, isolated=False):
    rng = np.random.default_rng(len(name))
    src, dst = os.path.join(tmp, name + ".hdf5"), os.path.join(tmp, name + "-out.hdf5")
    ds = make(src, n, 11, 3, rng, with_timeouts)
    env = dict(os.environ, WSRL_TEST_ISOLATED="1" if isolated else "0")
    res = subprocess.run([helper, src, dst, str(max_steps)], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        sys.exit(f"{name}: helper failed: {res.stderr}")
    report = dict(line.split() for line in res.stdout.split("\n") if line)
    want = qlearning(ds, max_steps)
    with h5py.File(dst, "r") as f:
        got = {"obs": f["observations"][:], "next": f["next_observations"][:], "act": f["actions"][:],
               "rew": f["rewards"][:], "term": f["terminals"][:], "trunc": f["timeouts"][:]}
        assert f["terminals"].dtype == np.bool_, f["terminals"].dtype
    for k in want:
        if got[k].shape != want[k].shape or not np.array_equal(got[k], want[k]):
            sys.exit(f"{name}: '{k}' differs: got shape {got[k].shape}, want {want[k].shape}")
    if int(report["loaded"]) != len(want["rew"]):
        sys.exit(f"{name}: report says {report['loaded']} loaded, want {len(want['rew'])}")
    print(f"{name}: {report['loaded']} of {n} rows, {report['episodes']} episodes: ok")


def hang(helper, tmp):
    """A file on which libhdf5 1.10 loops forever (one byte of its metadata
    changed, found by mutating files like these): the isolated import must
    give up at its time limit with an error, and this process must live."""
    src, dst = os.path.join(tmp, "hang.hdf5"), os.path.join(tmp, "hang-out.hdf5")
    rng = np.random.default_rng(1)
    with h5py.File(src, "w") as f:
        f["observations"] = rng.random((10, 4)).astype(np.float32)
        f["actions"] = rng.random((10, 2)).astype(np.float32)
        f["rewards"] = rng.random(10).astype(np.float32)
        f["terminals"] = np.zeros(10, bool)
    with open(src, "r+b") as f:
        f.seek(879)
        f.write(bytes([172]))
    env = dict(os.environ, WSRL_TEST_ISOLATED="1", WSRL_HDF5_ISOLATED_SECONDS="2")
    res = subprocess.run([helper, src, dst], capture_output=True, text=True, env=env, timeout=60)
    if res.returncode == 0 or "time limit" not in res.stderr:
        sys.exit(f"hang: want an error naming the time limit, got {res.returncode}: {res.stderr}")
    print("hang: the isolated importer stopped at its time limit: ok")


def main():
    helper = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        check(helper, tmp, "timeouts", 2000, True, 0)
        check(helper, tmp, "old-no-timeouts", 1500, False, 100)
        check(helper, tmp, "isolated", 2000, True, 0, isolated=True)
        hang(helper, tmp)


if __name__ == "__main__":
    main()
