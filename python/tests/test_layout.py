"""The binding cannot drift from the library: the cdef is the headers', and
the struct layout is checked against the loaded library at import."""
import os
import re
import shutil
import subprocess
import sys

import cffi
import pytest

import wsrl
from wsrl import _cdefgen, _lib
from conftest import BUILD_ROOT, SOURCE_ROOT

PKG = os.path.dirname(wsrl.__file__)


def test_layout_matches_the_loaded_library():
    structs = _lib.mirrored_structs()
    assert len(structs) >= 10 and "wsrl_env_spec_t" in structs and "wsrl_agent_t" not in structs
    wsrl.check_layout()


def _mirror(text):
    other = cffi.FFI()
    other.cdef(text)
    return other, other.dlopen(wsrl.LIBRARY_PATH)


def test_a_wrong_offset_or_size_is_refused_with_a_clear_message():
    # a field inserted mid-struct moves every later one
    text = _lib._cdef_text().replace("typedef struct wsrl_env_spec {\n", "typedef struct wsrl_env_spec {\n  int64_t inserted;\n")
    with pytest.raises(wsrl.LayoutError) as e:
        wsrl.check_layout(*_mirror(text))
    msg = str(e.value)
    assert "wsrl_env_spec_t.struct_size is at offset 8, 4 bytes in the binding but at offset 0, 4 bytes in the " \
           "library" in msg
    assert "wsrl_env_spec_t.inserted (offset 0) is not in the library's wsrl_env_spec_t" in msg
    assert wsrl.LIBRARY_PATH in msg and "rebuild" in msg
    # a field of another type: same offset, other size
    text = _lib._cdef_text().replace("  int64_t max_episode_steps;\n} wsrl_env_spec_t;", "  int32_t max_episode_steps;\n} wsrl_env_spec_t;")
    with pytest.raises(wsrl.LayoutError, match=r"wsrl_env_spec_t\.max_episode_steps is at offset \d+, 4 bytes in the "
                                               r"binding but at offset \d+, 8 bytes"):
        wsrl.check_layout(*_mirror(text))


def test_a_field_the_library_does_not_have_is_refused():
    text = _lib._cdef_text().replace("} wsrl_session_info_t;", "  int64_t added_by_a_newer_header;\n} wsrl_session_info_t;")
    with pytest.raises(wsrl.LayoutError, match=r"wsrl_session_info_t\.added_by_a_newer_header \(offset \d+\) is not in "
                                               r"the library's wsrl_session_info_t"):
        wsrl.check_layout(*_mirror(text))


def test_import_refuses_a_package_built_for_another_layout(tmp_path):
    """The check runs at import: a package whose cdef differs from the library does not import."""
    pkg = tmp_path / "wsrl"
    shutil.copytree(PKG, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    cdef = (pkg / "_cdef.h").read_text()
    (pkg / "_cdef.h").write_text(cdef.replace("  int32_t obs_dim;\n  int32_t act_dim;\n  const float *action_low;",
                                              "  int32_t act_dim;\n  int32_t obs_dim;\n  const float *action_low;", 1))
    env = dict(os.environ, PYTHONPATH=str(tmp_path), WSRL_LIBRARY=wsrl.LIBRARY_PATH)
    r = subprocess.run([sys.executable, "-c", "import wsrl"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "LayoutError" in r.stderr
    assert "wsrl_env_spec_t.act_dim is at offset 4, 4 bytes in the binding but at offset 8" in r.stderr, r.stderr


def test_the_built_cdef_is_the_headers_cdef():
    if not BUILD_ROOT:
        pytest.skip("WSRL_BUILD_ROOT is not set (run through meson test)")
    fresh = _cdefgen.generate("wsrl.h", [os.path.join(SOURCE_ROOT, "include", "wsrl"),
                                         os.path.join(BUILD_ROOT, "include", "wsrl")])
    assert fresh == _lib._cdef_text(), "python/wsrl/_cdef.h is stale: rebuild"


def test_every_exported_function_is_declared_and_resolves():
    with open(os.path.join(SOURCE_ROOT, "lib", "libwsrl.sym")) as f:
        exported = set(re.findall(r"^\s*(wsrl_\w+);", f.read(), re.M))
    declared = set(re.findall(r"\b(wsrl_\w+)\s*\(", _lib._cdef_text()))
    declared -= {n for n in declared if n.endswith("_fn")}
    assert exported and exported == declared, (exported ^ declared)
    for name in exported:
        getattr(wsrl.lib, name)


def test_every_library_name_the_package_uses_exists():
    used = set()
    for f in os.listdir(PKG):
        if f.endswith(".py"):
            with open(os.path.join(PKG, f)) as src:
                used |= set(re.findall(r"\blib\.((?:wsrl|WSRL)_\w+)", src.read()))
    assert len(used) > 50
    missing = [n for n in sorted(used) if not hasattr(wsrl.lib, n)]
    assert not missing, missing
