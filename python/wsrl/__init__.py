"""libwsrl from Python: WSRL (warm-start RL) fine-tuning with numpy in, numpy out.

    import wsrl
    cfg = wsrl.Config({"agent.algorithm": "calql"})
    agent = wsrl.Agent(cfg, env)
    data = wsrl.ReplayBuffer.from_hdf5("dataset.hdf5", agent=agent)
    wsrl.pretrain(agent, data, 10000)
    with wsrl.Session(agent) as s:
        wsrl.finetune(s, env, 50000, eval_env=eval_env, progress=print)

See docs/python.md.
"""
from ._lib import (ffi, lib, LIBRARY_PATH, Error, InvalidArgumentError, OutOfMemoryError, WsrlIOError,
                   CorruptError, VersionMismatchError, BackendError, EnvCallbackError, NonFiniteError,
                   WrongStateError, CancelledError, UnsupportedError, LayoutError, check_layout)
from ._core import (Config, ReplayBuffer, Env, Agent, Policy, Session, pretrain, finetune, evaluate, ALGORITHMS,
                    NETS)

__version__ = ffi.string(lib.wsrl_version_string()).decode()


def live_handles():
    """Handles the library holds alive now (for leak checks)."""
    return int(lib.wsrl_live_handles())
