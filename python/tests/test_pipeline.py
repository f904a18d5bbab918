"""The whole WSRL pipeline from Python on a numpy task and a D4RL-format dataset."""
import numpy as np
import pytest

import wsrl
from conftest import MAX_STEPS, Reach, scripted_dataset, small_config


def test_wsrl_pipeline_and_checkpoint_round_trip(tmp_path):
    rows = scripted_dataset(tmp_path / "reach.hdf5")
    agent = wsrl.Agent(small_config(), Reach(), max_episode_steps=MAX_STEPS)
    # The file's actions are in the env's [-2, 2]: the agent's bounds map them to [-1, 1].
    with pytest.raises(wsrl.InvalidArgumentError, match="outside|beyond|bounds"):
        wsrl.ReplayBuffer.from_hdf5(tmp_path / "reach.hdf5", action_bounds=(-1, 1))
    data = wsrl.ReplayBuffer.from_hdf5(tmp_path / "reach.hdf5", agent=agent, max_episode_steps=MAX_STEPS)
    assert len(data) == rows and data.report["episodes"] == 40
    unit = data.get()["action"]
    assert np.abs(unit).max() <= 1 and np.abs(unit).max() > 0.9
    before = wsrl.evaluate(agent, Reach(), episodes=10, seed=5)["return_mean"]
    log = []
    wsrl.pretrain(agent, data, 300, progress=lambda step, m: log.append((step, m["critic_loss"])))
    assert [s for s, _ in log] == list(range(20, 301, 20)) and all(np.isfinite(v) for _, v in log)
    pretrained = wsrl.evaluate(agent, Reach(), episodes=10, seed=5)["return_mean"]
    # The scripted data reaches the goal in ~8 steps; a random actor wanders for 30.
    assert pretrained > before + 20 and pretrained > -10, (before, pretrained)

    with wsrl.Session(agent, max_episode_steps=MAX_STEPS) as s:
        evals = []
        wsrl.finetune(s, Reach(), 200, eval_env=Reach(),
                      progress=lambda step, m: evals.append(m["eval/return_mean"]) if "eval/return_mean" in m else 0)
        info = s.info
        assert info["warmup_done"] == 60 and info["env_steps"] == 200 and info["phase"] == "online"
        assert info["updates_done"] == 140 and agent.phase == "online"
        assert len(evals) == 2 and evals[-1] > -10, evals

        agent.save(tmp_path / "agent.ckpt")
        obs = np.random.default_rng(3).uniform(-1, 1, (16, 2)).astype(np.float32)
        restored = wsrl.Agent.from_checkpoint(tmp_path / "agent.ckpt")
        for o in obs:
            assert agent.act(o, deterministic=True).tobytes() == restored.act(o, deterministic=True).tobytes()
        assert agent.act(obs, deterministic=True).tobytes() == restored.act(obs, deterministic=True).tobytes()
        before, after = agent.get_params(), restored.get_params()
        assert set(before) == set(after) >= {"actor", "critics", "target_critics", "temperature"}
        assert all(np.array_equal(before[k], after[k]) for k in before)
        # Actions come back in the env's [-2, 2] bounds; unit=True gives [-1, 1].
        assert np.all(np.abs(agent.act(obs)) <= 2) and np.all(np.abs(agent.act(obs, unit=True)) <= 1)


def test_host_owned_session_loop(tmp_path):
    agent = wsrl.Agent(small_config(**{"agent.algorithm": "sac"}), obs_dim=2, act_dim=2)
    env = Reach()
    with wsrl.Session(agent, max_episode_steps=MAX_STEPS) as s:
        obs, _ = env.reset(seed=1)
        for t in range(80):
            a = s.act(obs)
            nxt, r, term, trunc, _ = env.step(a)
            s.observe(obs, a, r, nxt, term, trunc)
            s.train()
            obs = env.reset()[0] if term or trunc else nxt
        assert s.info["env_steps"] == 80 and s.info["updates_done"] == 20
        s.save(tmp_path / "session.ckpt", replay=True)
        p = s.policy()
        o = np.zeros(2, np.float32)
        # plain C against oneDNN: equal up to float rounding
        assert np.allclose(p.act(o), agent.act(o, deterministic=True), atol=1e-5)


def test_replay_buffer_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    buf = wsrl.ReplayBuffer(3, 2, 100)
    obs, act, nxt = rng.normal(size=(10, 3)), rng.uniform(-1, 1, (10, 2)), rng.normal(size=(10, 3))
    term = np.zeros(10, bool)
    term[4] = True
    buf.add_batch(obs, act, np.arange(10), nxt, term, None)
    buf.add(obs[0], act[0], 5.0, nxt[0], truncated=True)
    got = buf.get()
    assert len(buf) == 11 and buf.episodes == 2
    assert np.array_equal(got["obs"][:10], obs.astype(np.float32))
    assert np.array_equal(got["terminated"][:10], term)
    buf.save(tmp_path / "b.wsrl")
    again = wsrl.ReplayBuffer.from_file(tmp_path / "b.wsrl")
    assert np.array_equal(again.get()["next_obs"], got["next_obs"])
    buf.to_hdf5(tmp_path / "b.hdf5")
    assert len(wsrl.ReplayBuffer.from_hdf5(tmp_path / "b.hdf5")) == 11
    batch = buf.sample(7)
    assert batch["obs"].shape == (7, 3) and batch["mask"].shape == (7,)


def test_a_dataset_takes_the_agents_discount_and_reward_transform():
    cfg = small_config(**{"td.discount": 0.9, "replay.reward_scale": 2.0})
    agent = wsrl.Agent(cfg, obs_dim=2, act_dim=2)
    rng = np.random.default_rng(0)

    def filled(**options):
        b = wsrl.ReplayBuffer(2, 2, 300, **options)
        b.add_batch(rng.normal(size=(300, 2)), rng.uniform(-1, 1, (300, 2)), rng.normal(size=300),
                    rng.normal(size=(300, 2)))
        return b
    with pytest.raises(wsrl.InvalidArgumentError, match="discount"):
        wsrl.pretrain(agent, filled(), 1)  # the library's defaults: discount 0.99, scale 1
    wsrl.pretrain(agent, filled(config=cfg), 2)
    wsrl.pretrain(agent, filled(config=cfg, seed=3), 1)
    assert agent.counters["updates"] == 3
    with pytest.raises(wsrl.InvalidArgumentError):  # an explicit keyword overrides the config
        wsrl.pretrain(agent, filled(config=cfg, discount=0.99), 1)
