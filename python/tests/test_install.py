"""`meson install` gives a package that loads the installed library through
the path recorded at configure time, not the build tree's."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD_ROOT, SOURCE_ROOT

# Run in a fresh interpreter that sees only the staged site directory.
PROBE = r"""
import json, sys
import numpy as np
import wsrl
maps = sorted({l.split()[-1] for l in open("/proc/self/maps") if "libwsrl" in l})
a = wsrl.Agent({"actor.hidden": [8], "critic.hidden": [8], "agent.threads": 1, "agent.algorithm": "sac"},
               obs_dim=2, act_dim=2)
d = wsrl.ReplayBuffer(2, 2, 64)
rng = np.random.default_rng(0)
d.add_batch(rng.normal(size=(64, 2)), rng.uniform(-1, 1, (64, 2)), rng.normal(size=64), rng.normal(size=(64, 2)))
wsrl.pretrain(a, d, 3)
print(json.dumps({"file": wsrl.__file__, "library": wsrl.LIBRARY_PATH, "maps": maps,
                  "updates": a.counters["updates"], "act": a.act([0.1, 0.2]).tolist()}))
"""


def _meson():
    exe = shutil.which("meson")
    if not BUILD_ROOT or exe is None:
        pytest.skip("needs meson and WSRL_BUILD_ROOT (run through meson test)")
    return exe


def _python(code, env_extra, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WSRL_LIBRARY", "LD_LIBRARY_PATH")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-s", "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """The package and the library installed under a --destdir staging root."""
    meson, root = _meson(), tmp_path_factory.mktemp("destdir")
    installed = json.loads(subprocess.run([meson, "introspect", BUILD_ROOT, "--installed"], check=True,
                                          capture_output=True, text=True).stdout)
    paths = [p for p in installed.values() if p.endswith(os.path.join("wsrl", "_paths.py"))]
    assert len(paths) == 1, installed
    options = json.loads(subprocess.run([meson, "introspect", BUILD_ROOT, "--buildoptions"], check=True,
                                        capture_output=True, text=True).stdout)
    prefix = next(o["value"] for o in options if o["name"] == "prefix")
    r = subprocess.run([meson, "install", "-C", BUILD_ROOT, "--no-rebuild", "--quiet", "--destdir", str(root),
                        "--tags", "runtime,python-runtime"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    pkg = str(root) + os.path.dirname(paths[0])
    return str(root), pkg, prefix


def test_installed_package_loads_the_installed_library(staged, tmp_path):
    root, pkg, prefix = staged
    recorded = {}
    with open(os.path.join(pkg, "_paths.py")) as f:
        exec(f.read(), recorded)
    # Recorded at configure time: the prefix's library, never the build tree's.
    assert recorded["LIBRARY"].startswith(prefix + "/") and os.path.exists(root + recorded["LIBRARY"])
    r = _python(PROBE, {"PYTHONPATH": os.path.dirname(pkg)}, tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[-1])
    assert got["file"] == os.path.join(pkg, "__init__.py")
    assert os.path.realpath(got["library"]) == os.path.realpath(root + recorded["LIBRARY"])
    # The process mapped the staged library and no other libwsrl.
    assert got["maps"] and all(m.startswith(root) for m in got["maps"]), got["maps"]
    assert got["updates"] == 3 and len(got["act"]) == 2


def test_a_package_without_its_library_says_where_it_looked(staged, tmp_path):
    root, pkg, _ = staged
    alone = tmp_path / "elsewhere" / "wsrl"
    shutil.copytree(pkg, alone)
    recorded = {}
    with open(alone / "_paths.py") as f:
        exec(f.read(), recorded)
    if os.path.exists(recorded["LIBRARY"]):
        pytest.skip("libwsrl is installed at %s on this machine" % recorded["LIBRARY"])
    r = _python("import wsrl", {"PYTHONPATH": str(alone.parent)}, tmp_path)
    assert r.returncode != 0
    assert "cannot load libwsrl from %s" % recorded["LIBRARY"] in r.stderr and "WSRL_LIBRARY" in r.stderr
    # WSRL_LIBRARY points it at a library explicitly.
    lib = root + recorded["LIBRARY"]
    r = _python("import wsrl; print(wsrl.LIBRARY_PATH)", {"PYTHONPATH": str(alone.parent), "WSRL_LIBRARY": lib},
                tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == lib, r.stderr


def test_the_site_directory_is_one_the_interpreter_imports_from():
    sys.path.insert(0, os.path.join(SOURCE_ROOT, "python"))
    try:
        from site_dir import site_dir
    finally:
        del sys.path[0]
    debian = ["/usr/lib/python3.11", "/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages"]
    # meson's /usr/local choice is not on Debian's sys.path (mesonbuild/meson#8739): take the interpreter's.
    assert site_dir("/usr/local", "/usr/local/lib/python3/dist-packages", debian) == \
        "/usr/local/lib/python3.11/dist-packages"
    assert site_dir("/usr", "/usr/lib/python3/dist-packages", debian) == "/usr/lib/python3/dist-packages"
    assert site_dir("/opt/w", "/opt/w/lib/python3.11/site-packages", debian) == "/opt/w/lib/python3.11/site-packages"
