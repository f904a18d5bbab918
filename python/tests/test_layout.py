"""The binding cannot drift from the library: the cdef is the headers', and
the struct layout is checked against the loaded library at import."""
import os
import re

import cffi
import pytest

import wsrl
from wsrl import _cdefgen, _lib
from conftest import BUILD_ROOT, SOURCE_ROOT

PKG = os.path.dirname(wsrl.__file__)


def test_layout_matches_the_loaded_library():
    assert len(_lib.VERSIONED_STRUCTS) >= 10
    wsrl.check_layout()


def test_a_layout_mismatch_is_refused_with_a_clear_message():
    text = _lib._cdef_text().replace("} wsrl_session_info_t;", "  int64_t added_by_a_newer_header;\n} wsrl_session_info_t;")
    other = cffi.FFI()
    other.cdef(text)
    with pytest.raises(wsrl.LayoutError, match=r"wsrl_session_info_t is \d+ bytes in the binding, more than the library knows"):
        wsrl.check_layout(other, other.dlopen(wsrl.LIBRARY_PATH))


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
