"""The Pythonic classes over libwsrl's handles."""
import math
import sys
from collections.abc import Mapping

try:
    import numpy as np
except ImportError as e:  # pragma: no cover - tested in a subprocess
    raise ImportError("the wsrl package needs numpy (Debian: apt-get install python3-numpy)") from e

from ._lib import ffi, lib, check, error, enc, Handle, Wrapper

_F32 = np.float32


def _floats(x, name, size=None):
    """A C-contiguous float32 view of @x (no copy when it already is one)."""
    a = np.ascontiguousarray(x, dtype=_F32)
    if size is not None and a.size != size:
        raise ValueError("%s: expected %d values, got %d (shape %s)" % (name, size, a.size, a.shape))
    return a


def _fptr(a):
    return ffi.from_buffer("float[]", a)


def _out(*shape):
    a = np.empty(shape, dtype=_F32)
    return a, ffi.from_buffer("float[]", a)


def _struct(name):
    s = ffi.new(name + " *")
    check(getattr(lib, name[:-2] + "_init")(s, ffi.sizeof(name)))
    return s


def _fields(s, skip=("struct_size",)):
    return {f: getattr(s, f) for f, _ in ffi.typeof(s[0]).fields if f not in skip}


class _Callbacks:
    """Carries the first exception a Python callback raised back to the caller."""

    def __init__(self):
        self.exc = None

    def onerror(self, exc_type, exc, tb):
        if exc is None:
            exc = exc_type()
        if tb is not None and exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        if self.exc is None:
            self.exc = exc
        msg = "Python %s: %s" % (type(exc).__name__, exc)
        lib.wsrl_set_callback_error(msg.encode("utf-8", "replace")[:255])

    def reraise(self):
        exc, self.exc = self.exc, None
        if exc is not None:
            raise exc


def _finish(status, *carriers, cancel_ok=False):
    """Raise what a callback raised, else the library's error (a stop the
    progress callback asked for is not an error when @cancel_ok)."""
    for c in carriers:
        if c is not None:
            c.reraise()
    if status == lib.WSRL_ERR_CANCELLED and cancel_ok:
        return
    check(status)


# ------------------------------------------------------------------ Config

_KEYS = None


def _key_table():
    global _KEYS
    if _KEYS is None:
        keys = {}
        name, typ, doc = ffi.new("char **"), ffi.new("int32_t *"), ffi.new("char **")
        for i in range(lib.wsrl_config_key_count()):
            check(lib.wsrl_config_key_info(i, ffi.cast("const char **", name), typ, ffi.cast("const char **", doc)))
            keys[ffi.string(name[0]).decode()] = (typ[0], ffi.string(doc[0]).decode())
        _KEYS = keys
    return _KEYS


class Config(Wrapper, Mapping):
    """The library's configuration as a mapping: ``cfg["actor.hidden"] = [64, 64]``.

    Keys, types and bounds come from the library's key table; an unknown key
    raises KeyError, a bad value ValueError with the library's message.
    """

    def __init__(self, values=None, **kwargs):
        p = ffi.new("wsrl_config_t **")
        check(lib.wsrl_config_create(p))
        self._h = Handle(p[0], lib.wsrl_config_destroy)
        for k, v in dict(values or {}, **kwargs).items():
            self[k] = v

    @classmethod
    def _adopt(cls, ptr):
        self = cls.__new__(cls)
        self._h = Handle(ptr, lib.wsrl_config_destroy)
        return self

    @classmethod
    def from_string(cls, text):
        c = cls()
        check(lib.wsrl_config_parse_string(c._ptr, text.encode()))
        return c

    @classmethod
    def from_file(cls, path):
        c = cls()
        check(lib.wsrl_config_parse_file(c._ptr, enc(path)))
        return c

    def copy(self):
        p = ffi.new("wsrl_config_t **")
        check(lib.wsrl_config_clone(p, self._ptr))
        return Config._adopt(p[0])

    def _key(self, key):
        if key not in _key_table():
            raise KeyError(key)
        return key.encode()

    def __getitem__(self, key):
        k, t = self._key(key), _key_table()[key][0]
        if t == lib.WSRL_CONFIG_INT:
            v = ffi.new("int64_t *")
            check(lib.wsrl_config_get_int(self._ptr, k, v))
            return int(v[0])
        if t == lib.WSRL_CONFIG_FLOAT:
            v = ffi.new("double *")
            check(lib.wsrl_config_get_float(self._ptr, k, v))
            return float(v[0])
        if t == lib.WSRL_CONFIG_BOOL:
            v = ffi.new("int32_t *")
            check(lib.wsrl_config_get_bool(self._ptr, k, v))
            return bool(v[0])
        if t == lib.WSRL_CONFIG_INT_LIST:
            v, n = ffi.new("int64_t[]", lib.WSRL_CONFIG_MAX_LIST), ffi.new("size_t *")
            check(lib.wsrl_config_get_int_list(self._ptr, k, v, lib.WSRL_CONFIG_MAX_LIST, n))
            return [int(v[i]) for i in range(n[0])]
        return self._get_text(k)

    def _get_text(self, k):
        need = ffi.new("size_t *")
        buf = ffi.new("char[]", 256)
        check(lib.wsrl_config_get(self._ptr, k, buf, 256, need))
        if need[0] > 256:
            buf = ffi.new("char[]", need[0])
            check(lib.wsrl_config_get(self._ptr, k, buf, need[0], need))
        return ffi.string(buf).decode()

    def __setitem__(self, key, value):
        k, t = self._key(key), _key_table()[key][0]
        if isinstance(value, str):
            st = lib.wsrl_config_set(self._ptr, k, value.encode())
        elif t == lib.WSRL_CONFIG_INT_LIST and not isinstance(value, (int, np.integer)):
            vals = [int(x) for x in value]
            st = lib.wsrl_config_set_int_list(self._ptr, k, ffi.new("int64_t[]", vals or [0]), len(vals))
        elif t == lib.WSRL_CONFIG_BOOL:
            st = lib.wsrl_config_set_bool(self._ptr, k, int(bool(value)))
        elif t == lib.WSRL_CONFIG_FLOAT:
            st = lib.wsrl_config_set_float(self._ptr, k, float(value))
        elif t in (lib.WSRL_CONFIG_INT, lib.WSRL_CONFIG_INT_LIST) and float(value) == int(value):
            st = lib.wsrl_config_set_int(self._ptr, k, int(value))
        else:
            st = lib.wsrl_config_set(self._ptr, k, str(value).encode())
        if st != 0:
            e = error(st)
            raise ValueError("%s = %r: %s" % (key, value, e.message)) from e

    def update(self, values=(), **kwargs):
        for k, v in dict(values, **kwargs).items():
            self[k] = v

    def __iter__(self):
        return iter(_key_table())

    def __len__(self):
        return len(_key_table())

    @staticmethod
    def info(key):
        """Type, doc, default, bounds and choices of @key from the key table."""
        if key not in _key_table():
            raise KeyError(key)
        d, c = ffi.new("char **"), ffi.new("char **")
        lo, hi = ffi.new("double *"), ffi.new("double *")
        check(lib.wsrl_config_key_bounds(key.encode(), ffi.cast("const char **", d), lo, hi,
                                         ffi.cast("const char **", c)))
        t, doc = _key_table()[key]
        types = {lib.WSRL_CONFIG_INT: "int", lib.WSRL_CONFIG_FLOAT: "float", lib.WSRL_CONFIG_BOOL: "bool",
                 lib.WSRL_CONFIG_ENUM: "enum", lib.WSRL_CONFIG_INT_LIST: "int_list"}
        choices = ffi.string(c[0]).decode() if c[0] != ffi.NULL else ""
        return {"type": types.get(t, str(t)), "doc": doc, "default": ffi.string(d[0]).decode(),
                "min": lo[0], "max": hi[0], "choices": choices.split("|") if choices else []}

    def to_string(self):
        need = ffi.new("size_t *")
        check(lib.wsrl_config_write_string(self._ptr, ffi.NULL, 0, need))
        buf = ffi.new("char[]", need[0])
        check(lib.wsrl_config_write_string(self._ptr, buf, need[0], need))
        return ffi.string(buf).decode()

    def save(self, path):
        check(lib.wsrl_config_write_file(self._ptr, enc(path)))

    def __repr__(self):
        return "wsrl.Config(%d keys)" % len(self) if not self.closed else "wsrl.Config(closed)"


# ------------------------------------------------------------ ReplayBuffer

_REPORT_FIELDS = ("mc_recomputed", "rows", "loaded", "dropped_timeout", "dropped_last", "dropped_nonfinite",
                  "episodes")


class ReplayBuffer(Wrapper):
    """A transition buffer (the offline dataset or an online buffer).

    numpy arrays go in as float32 views (no copy when already C-contiguous
    float32) and come out as new arrays the library writes directly.
    """

    def __init__(self, obs_dim, act_dim, capacity, *, config=None, seed=0, discount=None, reward_scale=None,
                 reward_bias=None, action_clip=None, mc_sparse=None, mc_sparse_reward=None, max_episode_steps=0,
                 drop_nonfinite=False):
        """@config (a Config or mapping, e.g. ``agent.config``) gives the
        discount, reward transform and sparse rule an agent with that config
        uses, which pretrain() and Session require of a dataset; a keyword
        given explicitly overrides it. Without either, the library's defaults."""
        o = _struct("wsrl_replay_options_t")
        if config is not None:
            check(lib.wsrl_replay_options_from_config((config if isinstance(config, Config) else Config(config))._ptr,
                                                      o))
        for f, v in (("discount", discount), ("reward_scale", reward_scale), ("reward_bias", reward_bias),
                     ("action_clip", action_clip), ("mc_sparse_reward", mc_sparse_reward)):
            if v is not None:
                setattr(o, f, v)
        if mc_sparse is not None:
            o.mc_sparse = int(bool(mc_sparse))
        o.seed, o.max_episode_steps = seed, max_episode_steps
        o.nonfinite = lib.WSRL_REPLAY_NONFINITE_DROP if drop_nonfinite else lib.WSRL_REPLAY_NONFINITE_ERROR
        p = ffi.new("wsrl_replay_t **")
        check(lib.wsrl_replay_create(p, obs_dim, act_dim, capacity, o))
        self._h = Handle(p[0], lib.wsrl_replay_destroy)
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.report = None

    @classmethod
    def from_hdf5(cls, path, capacity=None, *, agent=None, action_bounds=None, isolated=False, **options):
        """Import a D4RL-format HDF5 file (observations, actions, rewards,
        terminals, timeouts[, next_observations]); ``report`` says what was dropped.

        Actions stored in the env's units are mapped to the library's [-1, 1]
        with @action_bounds ``(low, high)``; a value outside them refuses the
        file. @agent gives both its bounds and its config (the discount and
        reward transform, see __init__) unless they are given. Without
        bounds the file's actions must already be in [-1, 1]. @isolated
        parses the file in a child process (for files you did not write).
        """
        if agent is not None:
            action_bounds = agent.action_bounds if action_bounds is None else action_bounds
            options.setdefault("config", agent.config)
        o, a, rows = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("int64_t *")
        check(lib.wsrl_replay_hdf5_info(enc(path), o, a, rows))
        buf = cls(o[0], a[0], capacity or max(rows[0], 1), **options)
        bounds = [ffi.NULL, ffi.NULL]
        if action_bounds is not None:
            keep = [_floats(np.broadcast_to(np.asarray(v, _F32), (buf.act_dim,)), "action_bounds")
                    for v in action_bounds]
            bounds = [_fptr(v) for v in keep]
        r = _struct("wsrl_replay_report_t")
        flags = lib.WSRL_REPLAY_IMPORT_ISOLATED if isolated else 0
        check(lib.wsrl_replay_import_hdf5_bounded(buf._ptr, enc(path), *bounds, flags, r))
        buf.report = {f: getattr(r, f) for f in _REPORT_FIELDS}
        return buf

    @classmethod
    def from_file(cls, path, capacity=None, **options):
        """A buffer holding a file written by save()."""
        o, a, n = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("int64_t *")
        check(lib.wsrl_replay_file_info(enc(path), o, a, n))
        buf = cls(o[0], a[0], capacity or max(n[0], 1), **options)
        buf.load(path)
        return buf

    def to_hdf5(self, path):
        check(lib.wsrl_replay_export_hdf5(self._ptr, enc(path)))

    def save(self, path):
        check(lib.wsrl_replay_save(self._ptr, enc(path)))

    def load(self, path):
        r = _struct("wsrl_replay_report_t")
        check(lib.wsrl_replay_load(self._ptr, enc(path), r))
        self.report = {f: getattr(r, f) for f in _REPORT_FIELDS}
        return self.report

    def add(self, obs, action, reward, next_obs, terminated=False, truncated=False):
        o = _floats(obs, "obs", self.obs_dim)
        a = _floats(action, "action", self.act_dim)
        n = _floats(next_obs, "next_obs", self.obs_dim)
        check(lib.wsrl_replay_add(self._ptr, _fptr(o), _fptr(a), float(reward), _fptr(n), int(bool(terminated)),
                                  int(bool(truncated))))

    def add_batch(self, obs, action, reward, next_obs, terminated=None, truncated=None):
        r = _floats(reward, "reward").reshape(-1)
        count = r.size
        o = _floats(obs, "obs", count * self.obs_dim)
        a = _floats(action, "action", count * self.act_dim)
        n = _floats(next_obs, "next_obs", count * self.obs_dim)
        flags = []
        for x, name in ((terminated, "terminated"), (truncated, "truncated")):
            f = np.zeros(count, np.int32) if x is None else np.ascontiguousarray(x, dtype=np.int32).reshape(-1)
            if f.size != count:
                raise ValueError("%s: expected %d values, got %d" % (name, count, f.size))
            flags.append(ffi.from_buffer("int32_t[]", f))
        check(lib.wsrl_replay_add_batch(self._ptr, count, _fptr(o), _fptr(a), _fptr(r), _fptr(n), *flags))

    def sample(self, batch_size):
        """A uniform batch: obs, action, reward, next_obs, mask (1 - terminated), mc_return."""
        B, O, A = int(batch_size), self.obs_dim, self.act_dim
        arrays = [_out(B, O), _out(B, A), _out(B), _out(B, O), _out(B), _out(B)]
        check(lib.wsrl_replay_sample(self._ptr, B, *[p for _, p in arrays]))
        return dict(zip(("obs", "action", "reward", "next_obs", "mask", "mc_return"), [a for a, _ in arrays]))

    def get(self, first=0, count=None):
        """Stored transitions [first, first + count) in insertion order."""
        if count is None:
            count = len(self) - first
        C, O, A = int(count), self.obs_dim, self.act_dim
        obs, po = _out(C, O)
        act, pa = _out(C, A)
        rew, pr = _out(C)
        nxt, pn = _out(C, O)
        mc, pm = _out(C)
        term, trunc = np.empty(C, np.int32), np.empty(C, np.int32)
        check(lib.wsrl_replay_get(self._ptr, first, C, po, pa, pr, pn, ffi.from_buffer("int32_t[]", term),
                                  ffi.from_buffer("int32_t[]", trunc), pm))
        return {"obs": obs, "action": act, "reward": rew, "next_obs": nxt, "terminated": term.astype(bool),
                "truncated": trunc.astype(bool), "mc_return": mc}

    def _i64(self, fn):
        v = ffi.new("int64_t *")
        check(fn(self._ptr, v))
        return int(v[0])

    def __len__(self):
        return self._i64(lib.wsrl_replay_size)

    @property
    def capacity(self):
        return self._i64(lib.wsrl_replay_capacity)

    @property
    def episodes(self):
        return self._i64(lib.wsrl_replay_episode_count)

    @property
    def memory_usage(self):
        return self._i64(lib.wsrl_replay_memory_usage)

    def clear(self):
        check(lib.wsrl_replay_clear(self._ptr))

    def seed(self, seed):
        check(lib.wsrl_replay_seed(self._ptr, seed))

    def __repr__(self):
        if self.closed:
            return "wsrl.ReplayBuffer(closed)"
        return "wsrl.ReplayBuffer(obs_dim=%d, act_dim=%d, size=%d, capacity=%d)" % (
            self.obs_dim, self.act_dim, len(self), self.capacity)


# ---------------------------------------------------------------------- Env


def _space_shape(space, what):
    shape = getattr(space, "shape", None)
    if shape is None:
        raise TypeError("env.%s needs a .shape (a Box-like space)" % what)
    return tuple(int(s) for s in shape)


def _bad_obs(a, shape):
    raise ValueError("env observation has %d values, observation_space.shape %s says %d"
                     % (a.size, shape, int(np.prod(shape))))


class _Adapter:
    """The C callbacks' side of an Env: refers to the Python env, never to
    the wrapper (so dropping the wrapper frees the C env at once)."""

    def __init__(self, env, obs_shape, act_shape):
        self.env, self.obs_shape, self.act_shape = env, obs_shape, act_shape
        self.obs_dim, self.act_dim = int(np.prod(obs_shape)), int(np.prod(act_shape))
        self.obs_bytes, self.act_bytes = 4 * self.obs_dim, 4 * self.act_dim
        self.errors = _Callbacks()
        self.step = self._step_fn()

    def checked_obs(self, obs):
        """@obs as obs_dim contiguous float32 values, or a ValueError."""
        a = np.ascontiguousarray(obs, dtype=_F32)
        if a.size != self.obs_dim:
            _bad_obs(a, self.obs_shape)
        return a

    def reset(self, user, seed, obs_out):
        obs, _info = self.env.reset(seed=int(seed))
        ffi.memmove(obs_out, self.checked_obs(obs), self.obs_bytes)
        return 0

    def _step_fn(self):
        """The step callback. It runs once per env step, so it does as little
        as it can (docs/python.md, Benchmarks, has the figures):

        * numpy views of the library's action and obs buffers are made again
          only when their address changes (the library passes the same ones
          every step);
        * an ndarray of observation_space's exact shape reaches the obs buffer
          by one assignment, converted to float32; any other obs goes through
          checked_obs(), whose size check keeps a wrong-sized obs (a scalar
          too) from being broadcast; non-finite values are the library's check;
        * the env is given an array of its own, which it may keep and change:
          the same one is reused only while the env keeps no reference to it
          (the array's reference count is back to what it was when the first
          step began), else the next step gets a new one.
        """
        env, obs_shape, act_shape, checked_obs = self.env, self.obs_shape, self.act_shape, self.checked_obs
        obs_bytes, act_bytes = self.obs_bytes, self.act_bytes
        frombuffer, buffer, ndarray, empty, refs = np.frombuffer, ffi.buffer, np.ndarray, np.empty, sys.getrefcount
        act_ptr = act_view = obs_ptr = obs_view = unkept = None
        mine = empty(act_shape, _F32)

        def step(user, action, obs_out, reward_out, term_out, trunc_out):
            nonlocal act_ptr, act_view, obs_ptr, obs_view, mine, unkept
            if action != act_ptr:
                act_view, act_ptr = frombuffer(buffer(action, act_bytes), _F32).reshape(act_shape), action
            a = mine
            a[...] = act_view
            if unkept is None:
                unkept = refs(a)  # mine, a and the argument: the same at every step
            obs, reward, terminated, truncated, _info = env.step(a)
            if refs(a) != unkept:  # the env kept it
                mine = empty(act_shape, _F32)
            if obs_out != obs_ptr:
                obs_view, obs_ptr = frombuffer(buffer(obs_out, obs_bytes), _F32).reshape(obs_shape), obs_out
            if type(obs) is not ndarray or obs.shape != obs_shape:
                obs = checked_obs(obs).reshape(obs_shape)
            obs_view[...] = obs
            reward_out[0] = reward
            term_out[0] = 1 if terminated else 0
            trunc_out[0] = 1 if truncated else 0
            return 0
        return step


class Env(Wrapper):
    """A Gymnasium-style object (duck-typed) as a libwsrl env.

    ``reset(seed=...) -> (obs, info)``, ``step(action) -> (obs, reward,
    terminated, truncated, info)``, ``observation_space.shape`` and
    ``action_space.shape/low/high``; the episode limit comes from
    @max_episode_steps, else ``env.spec.max_episode_steps`` (gymnasium),
    else none. An exception in reset/step stops the library call and is
    re-raised in the caller with its traceback.
    """

    def __init__(self, env, max_episode_steps=None):
        ad = _Adapter(env, _space_shape(env.observation_space, "observation_space"),
                      _space_shape(env.action_space, "action_space"))
        self.env, self._errors = env, ad.errors
        self.obs_shape, self.act_shape, self.obs_dim, self.act_dim = ad.obs_shape, ad.act_shape, ad.obs_dim, ad.act_dim
        if max_episode_steps is None:
            max_episode_steps = getattr(getattr(env, "spec", None), "max_episode_steps", None) or 0
        self.max_episode_steps = int(max_episode_steps)
        bounds = [np.ascontiguousarray(np.broadcast_to(np.asarray(getattr(env.action_space, k, d), _F32),
                                                       self.act_shape)).ravel() for k, d in (("low", -1), ("high", 1))]
        self.action_low, self.action_high = bounds
        spec = self.spec()
        cb = _struct("wsrl_env_callbacks_t")
        on = ad.errors.onerror
        cbs = (ffi.callback("wsrl_env_reset_fn", ad.reset, error=1, onerror=on),
               ffi.callback("wsrl_env_step_fn", ad.step, error=1, onerror=on))
        cb.reset, cb.step = cbs
        p = ffi.new("wsrl_env_t **")
        check(lib.wsrl_env_create(p, spec, cb, ffi.NULL))
        self._h = Handle(p[0], lib.wsrl_env_destroy, deps=[cbs])  # the callbacks live as long as the C env

    def spec(self):
        """A wsrl_env_spec_t of this env (valid while the Env lives)."""
        s = _struct("wsrl_env_spec_t")
        s.obs_dim, s.act_dim, s.max_episode_steps = self.obs_dim, self.act_dim, self.max_episode_steps
        s.action_low, s.action_high = _fptr(self.action_low), _fptr(self.action_high)
        return s

    @property
    def last_callback_code(self):
        return lib.wsrl_env_last_callback_code(self._ptr)


def _as_env(env):
    return env if isinstance(env, Env) or env is None else Env(env)


# -------------------------------------------------------------------- Agent

def _enum(prefix):
    """{value: "name"} of the library's WSRL_<prefix>_* constants (lowercased)."""
    return {getattr(lib, n): n[len(prefix):].lower() for n in dir(lib) if n.startswith(prefix)}


ALGORITHMS = _enum("WSRL_ALGORITHM_")  # wsrl_algorithm_t: {0: "sac", ...}
NETS = _enum("WSRL_NET_")  # wsrl_net_t: {0: "actor", 1: "critics", ...}
_NET_IDS = {name: value for value, name in NETS.items()}


def _net(net):
    if isinstance(net, str):
        if net not in _NET_IDS:
            raise KeyError("unknown network %r; the networks: %s" % (net, ", ".join(sorted(_NET_IDS))))
        return _NET_IDS[net]
    return int(net)


class Agent(Wrapper):
    """A learner (SAC ensemble, CQL, Cal-QL or IQL) with its actor and critics.

    Build it from a Config and either an env (Gymnasium-style or wsrl.Env)
    or obs_dim/act_dim (+ action bounds).
    """

    def __init__(self, config=None, env=None, *, obs_dim=None, act_dim=None, action_low=None, action_high=None,
                 max_episode_steps=0):
        config = config if isinstance(config, Config) else Config(config or {})
        if env is not None:
            e = _as_env(env)
            spec = e.spec()
        else:
            if obs_dim is None or act_dim is None:
                raise TypeError("Agent needs an env or obs_dim and act_dim")
            spec = _struct("wsrl_env_spec_t")
            spec.obs_dim, spec.act_dim, spec.max_episode_steps = obs_dim, act_dim, max_episode_steps
            keep = []
            for f, v in (("action_low", action_low), ("action_high", action_high)):
                if v is not None:
                    a = _floats(np.broadcast_to(np.asarray(v, _F32), (act_dim,)), f)
                    keep.append(a)
                    setattr(spec, f, _fptr(a))
        p = ffi.new("wsrl_agent_t **")
        check(lib.wsrl_agent_create(p, config._ptr, spec))
        self._setup(p[0])

    def _setup(self, ptr):
        self._h = Handle(ptr, lib.wsrl_agent_destroy)
        o, a, alg = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("int32_t *")
        check(lib.wsrl_agent_info(ptr, o, a, alg))
        self.obs_dim, self.act_dim = int(o[0]), int(a[0])
        self.algorithm = ALGORITHMS.get(alg[0], int(alg[0]))
        self._config = None

    @classmethod
    def from_checkpoint(cls, path):
        p = ffi.new("wsrl_agent_t **")
        check(lib.wsrl_agent_create_from_checkpoint(p, enc(path), ffi.NULL))
        self = cls.__new__(cls)
        self._setup(p[0])
        return self

    @property
    def config(self):
        """The config the agent was created with (a copy: editing it changes nothing)."""
        if self._config is None:
            p = ffi.new("wsrl_config_t **")
            check(lib.wsrl_agent_get_config(self._ptr, p))
            self._config = Config._adopt(p[0])
        return self._config

    @property
    def action_bounds(self):
        """(low, high): the [low, high] act() scales actions to."""
        low, pl = _out(self.act_dim)
        high, ph = _out(self.act_dim)
        check(lib.wsrl_agent_action_bounds(self._ptr, pl, ph, self.act_dim))
        return low, high

    @staticmethod
    def checkpoint_config(path):
        p = ffi.new("wsrl_config_t **")
        check(lib.wsrl_agent_checkpoint_config(enc(path), p))
        return Config._adopt(p[0])

    def act(self, obs, deterministic=False, unit=False):
        """Actions for one observation (shape [obs_dim]) or a batch ([n, obs_dim])."""
        o = np.ascontiguousarray(obs, dtype=_F32)
        single = o.ndim == 1
        n = 1 if single else o.shape[0]
        if o.size != n * self.obs_dim:
            raise ValueError("obs: expected shape (%d,) or (n, %d), got %s" % (self.obs_dim, self.obs_dim, o.shape))
        out = np.empty(self.act_dim if single else (n, self.act_dim), _F32)
        flags = (lib.WSRL_ACT_DETERMINISTIC if deterministic else 0) | (lib.WSRL_ACT_UNIT if unit else 0)
        st = lib.wsrl_agent_act(self._ptr, n, ffi.from_buffer("float[]", o), flags, ffi.from_buffer("float[]", out))
        if st:
            raise error(st)
        return out

    def batch_rows(self):
        v = ffi.new("int64_t *")
        check(lib.wsrl_agent_batch_rows(self._ptr, v))
        return int(v[0])

    def update(self, batch, action_scaled=False):
        """One update on a batch dict (obs, action, reward, next_obs, mask or
        terminated, mc_return) of batch_rows() rows; returns the metrics."""
        b = _struct("wsrl_batch_t")
        rows = self.batch_rows()
        b.size, b.action_scaled = rows, int(action_scaled)
        keep = []
        for f, dim in (("obs", self.obs_dim), ("action", self.act_dim), ("reward", 1), ("next_obs", self.obs_dim),
                       ("mask", 1), ("mc_return", 1)):
            if batch.get(f) is not None:
                a = _floats(batch[f], f, rows * dim)
                keep.append(a)
                setattr(b, f, _fptr(a))
        if batch.get("terminated") is not None and batch.get("mask") is None:
            t = np.ascontiguousarray(batch["terminated"], np.int32)
            keep.append(t)
            b.terminated = ffi.from_buffer("int32_t[]", t)
        check(lib.wsrl_agent_update(self._ptr, b))
        return self.metrics

    def switch_online(self):
        check(lib.wsrl_agent_switch_online(self._ptr))

    @property
    def phase(self):
        v = ffi.new("int32_t *")
        check(lib.wsrl_agent_phase(self._ptr, v))
        return "online" if v[0] == lib.WSRL_AGENT_ONLINE else "offline"

    @property
    def counters(self):
        c = _struct("wsrl_agent_counters_t")
        check(lib.wsrl_agent_counters(self._ptr, c))
        return _fields(c)

    @property
    def metrics(self):
        n = ffi.new("int32_t *")
        check(lib.wsrl_agent_metric_count(self._ptr, n))
        name, value = ffi.new("char **"), ffi.new("double *")
        out = {}
        for i in range(n[0]):
            check(lib.wsrl_agent_metric(self._ptr, i, ffi.cast("const char **", name), value))
            out[ffi.string(name[0]).decode()] = value[0]
        return out

    @property
    def memory_usage(self):
        v = ffi.new("uint64_t *")
        check(lib.wsrl_agent_memory_usage(self._ptr, v))
        return int(v[0])

    def save(self, path):
        check(lib.wsrl_agent_save(self._ptr, enc(path)))

    def load(self, path):
        check(lib.wsrl_agent_load(self._ptr, enc(path)))

    @property
    def nets(self):
        """The networks this agent has, by name (see get_params)."""
        n = ffi.new("int64_t *")
        return [name for value, name in NETS.items() if lib.wsrl_agent_param_count(self._ptr, value, n) == 0]

    def get_params(self, net=None):
        """The parameters of @net ("actor", "critics", "target_critics",
        "value", "temperature", "lagrange", "target_actor" or a wsrl_net_t) as a new float32
        array in the flat layout include/wsrl/agent.h documents; without
        @net, a dict of every network this agent has."""
        if net is None:
            return {name: self.get_params(name) for name in self.nets}
        n, k = ffi.new("int64_t *"), _net(net)
        check(lib.wsrl_agent_param_count(self._ptr, k, n))
        out, p = _out(int(n[0]))
        check(lib.wsrl_agent_get_params(self._ptr, k, p, n[0]))
        return out

    def set_params(self, net, params=None):
        """Overwrite @net's parameters with @params (the layout get_params
        gives; nothing changes on an error), or, given one dict, every
        network in it. Adam state is kept; targets are not synchronised."""
        if params is None and isinstance(net, Mapping):
            for name, values in net.items():
                self.set_params(name, values)
            return
        a = _floats(params, "params").reshape(-1)
        check(lib.wsrl_agent_set_params(self._ptr, _net(net), _fptr(a), a.size))

    def log_prob(self, obs, action, unit=False):
        """log pi(action | obs) under the current actor, for one observation
        (a float) or a batch (shape [n]). @action is in the env's bounds as
        act() returns it, or in [-1, 1] with unit=True; the density is the
        one over [-1, 1] units either way (the learner's)."""
        o = np.ascontiguousarray(obs, dtype=_F32)
        single = o.ndim == 1
        n = 1 if single else o.shape[0]
        if o.size != n * self.obs_dim:
            raise ValueError("obs: expected shape (%d,) or (n, %d), got %s" % (self.obs_dim, self.obs_dim, o.shape))
        a = _floats(action, "action", n * self.act_dim)
        if not unit:
            u, pu = _out(n, self.act_dim)
            check(lib.wsrl_agent_unit_actions(self._ptr, n, _fptr(a), pu))
            a = u
        out, p = _out(n)
        check(lib.wsrl_agent_log_prob(self._ptr, n, _fptr(o), _fptr(a), p))
        return float(out[0]) if single else out

    def policy(self):
        """An immutable snapshot of the current actor (safe to use from any thread)."""
        return Policy._snapshot(lib.wsrl_agent_policy, self)

    def __repr__(self):
        if self.closed:
            return "wsrl.Agent(closed)"
        return "wsrl.Agent(%s, obs_dim=%d, act_dim=%d, phase=%s)" % (self.algorithm, self.obs_dim, self.act_dim,
                                                                    self.phase)


class Policy(Wrapper):
    """A wsrl_policy_t snapshot: plain-C act, no oneDNN, no lock with training."""

    @classmethod
    def _snapshot(cls, fn, owner):
        p = ffi.new("wsrl_policy_t **")
        check(fn(owner._ptr, p))
        return cls._adopt(p[0])

    @classmethod
    def _adopt(cls, ptr):
        self = cls.__new__(cls)
        self._h = Handle(ptr, lib.wsrl_policy_release)
        o, a, u = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("uint64_t *")
        check(lib.wsrl_policy_info(ptr, o, a, u))
        self.obs_dim, self.act_dim, self.updates = int(o[0]), int(a[0]), int(u[0])
        self._rng = ffi.new("uint64_t *", 0)
        return self

    @classmethod
    def load(cls, path):
        p = ffi.new("wsrl_policy_t **")
        check(lib.wsrl_policy_load(p, enc(path)))
        return cls._adopt(p[0])

    def save(self, path):
        check(lib.wsrl_policy_save(self._ptr, enc(path)))

    def seed(self, seed):
        self._rng[0] = seed

    def act(self, obs, deterministic=True, unit=False):
        o = _floats(obs, "obs", self.obs_dim)
        out, p = _out(self.act_dim)
        flags = (lib.WSRL_ACT_DETERMINISTIC if deterministic else 0) | (lib.WSRL_ACT_UNIT if unit else 0)
        check(lib.wsrl_policy_act(self._ptr, _fptr(o), flags, self._rng, p))
        return out


# ------------------------------------------------------------------ Session


class Session(Wrapper):
    """Online fine-tuning driven by the host: act, observe, train (WSRL warmup then updates).

    Keeps its agent (and offline buffer) alive; ``finetune()`` runs the loop
    with a Python env instead.
    """

    def __init__(self, agent, *, offline=None, max_episode_steps=0):
        """The session reads its agent's config (warmup, update-to-data
        ratio, replay keys); @offline is an optional offline buffer (WSRL
        itself keeps none)."""
        o = _struct("wsrl_session_options_t")
        o.offline = offline._ptr if offline is not None else ffi.NULL
        o.max_episode_steps = max_episode_steps
        p = ffi.new("wsrl_session_t **")
        check(lib.wsrl_session_create(p, agent._ptr, o))
        deps = [agent._h] + ([offline._h] if offline is not None else [])
        self._h = Handle(p[0], lib.wsrl_session_destroy, deps=deps)
        self.agent, self.offline = agent, offline
        self._obs_dim, self._act_dim = agent.obs_dim, agent.act_dim
        self._envs = {}

    def act(self, obs):
        o = _floats(obs, "obs", self._obs_dim)
        out, p = _out(self._act_dim)
        check(lib.wsrl_session_act(self._ptr, _fptr(o), p))
        return out

    def observe(self, obs, action, reward, next_obs, terminated=False, truncated=False):
        o = _floats(obs, "obs", self._obs_dim)
        a = _floats(action, "action", self._act_dim)
        n = _floats(next_obs, "next_obs", self._obs_dim)
        check(lib.wsrl_session_observe(self._ptr, _fptr(o), _fptr(a), float(reward), _fptr(n),
                                       int(bool(terminated)), int(bool(truncated))))

    def train(self, max_updates=-1):
        """Run the updates that are due (at most @max_updates; -1 all); returns how many ran."""
        done = ffi.new("int64_t *")
        check(lib.wsrl_session_train(self._ptr, max_updates, done))
        return int(done[0])

    @property
    def info(self):
        i = _struct("wsrl_session_info_t")
        check(lib.wsrl_session_info(self._ptr, i))
        d = _fields(i)
        d["phase"] = "online" if d["phase"] == lib.WSRL_SESSION_ONLINE else "warmup"
        return d

    @property
    def phase(self):
        return self.info["phase"]

    @property
    def updates_due(self):
        v = ffi.new("int64_t *")
        check(lib.wsrl_session_updates_due(self._ptr, v))
        return int(v[0])

    def save(self, path, replay=False):
        check(lib.wsrl_session_save(self._ptr, enc(path), lib.WSRL_SESSION_SAVE_REPLAY if replay else 0))

    def load(self, path):
        check(lib.wsrl_session_load(self._ptr, enc(path)))

    def policy(self):
        return Policy._snapshot(lib.wsrl_session_policy, self)

    def _env(self, env):
        """The same wsrl.Env for the same Python env, so episodes continue across calls."""
        if env is None or isinstance(env, Env):
            return env
        hit = self._envs.get(id(env))
        if hit is None or hit[0] is not env:
            hit = self._envs[id(env)] = (env, Env(env))
        return hit[1]


# ------------------------------------------------------------------ loops


def _progress_callback(progress, errors):
    if progress is None:
        return ffi.NULL, None
    state = {"stopped": False}

    def cb(user, step, n, names, values):
        metrics = {ffi.string(names[i]).decode(): values[i] for i in range(n)}
        if progress(int(step), metrics):
            state["stopped"] = True
            return 1
        return 0

    return ffi.callback("wsrl_progress_fn", cb, error=1, onerror=errors.onerror), state


def pretrain(agent, dataset, steps, progress=None):
    """Offline training: @steps updates on batches from @dataset (a ReplayBuffer).

    ``progress(step, metrics) -> stop?`` runs every ``log.interval`` updates.
    Runs one update per library call, so Ctrl-C (KeyboardInterrupt) stops it
    within one update; the updates done are kept.
    """
    errors = _Callbacks()
    cb, state = _progress_callback(progress, errors)
    a, d = agent._ptr, dataset._ptr
    for _ in range(int(steps)):
        st = lib.wsrl_pretrain(a, d, 1, cb, ffi.NULL)
        if st != 0 or (state and state["stopped"]):
            _finish(st, errors, cancel_ok=bool(state and state["stopped"]))
            return
    if steps < 0:
        check(lib.wsrl_pretrain(a, d, int(steps), ffi.NULL, ffi.NULL))


def finetune(session, env, steps, eval_env=None, progress=None):
    """WSRL fine-tuning with a Python env: warmup, then one update per step.

    @env and @eval_env are Gymnasium-style objects (or wsrl.Env).
    ``progress(step, metrics) -> stop?`` runs every ``log.interval`` env
    steps and after each evaluation. Ctrl-C stops it within one env step.
    """
    e, ev = session._env(env), session._env(eval_env)
    errors = _Callbacks()
    cb, state = _progress_callback(progress, errors)
    st = lib.wsrl_finetune(session._ptr, e._ptr, ev._ptr if ev is not None else ffi.NULL, int(steps), cb, ffi.NULL)
    _finish(st, e._errors, ev._errors if ev is not None else None, errors,
            cancel_ok=bool(state and state["stopped"]))


def evaluate(agent, env, episodes=10, seed=0):
    """Deterministic-policy returns over @episodes on @env (Gymnasium-style or wsrl.Env)."""
    e = _as_env(env)
    r = _struct("wsrl_eval_result_t")
    st = lib.wsrl_evaluate(agent._ptr, e._ptr, int(episodes), int(seed), r)
    _finish(st, e._errors)
    return _fields(r)


__all__ = ["Config", "ReplayBuffer", "Env", "Agent", "Policy", "Session", "pretrain", "finetune", "evaluate", "ALGORITHMS",
           "NETS"]
