"""Loading libwsrl through cffi (ABI mode), errors, handle lifetimes, layout check."""
import os
import re
import weakref

try:
    import cffi
except ImportError as e:  # pragma: no cover - reported by the package import
    raise ImportError("the wsrl package needs cffi (Debian: apt-get install python3-cffi)") from e

from . import _paths

_HERE = os.path.dirname(os.path.abspath(__file__))


def _cdef_text():
    with open(os.path.join(_HERE, "_cdef.h"), encoding="utf-8") as f:
        return f.read()


def _library_path():
    """WSRL_LIBRARY, else the library recorded at configure time: found
    relative to this package first (a --destdir staging tree or a moved
    prefix loads its own copy), else at its recorded absolute path."""
    if os.environ.get("WSRL_LIBRARY"):
        return os.environ["WSRL_LIBRARY"]
    moved = os.path.normpath(os.path.join(_HERE, os.path.relpath(_paths.LIBRARY, _paths.PACKAGE_DIR)))
    return moved if os.path.exists(moved) else _paths.LIBRARY


def _open_library(ffi_):
    path = _library_path()
    try:
        return ffi_.dlopen(path), path
    except OSError as e:
        raise ImportError("wsrl: cannot load libwsrl from %s (recorded at configure time; "
                          "set WSRL_LIBRARY to override): %s" % (path, e)) from e


ffi = cffi.FFI()
ffi.cdef(_cdef_text())
lib, LIBRARY_PATH = _open_library(ffi)

# ------------------------------------------------------------------ errors


class Error(Exception):
    """A libwsrl call failed: ``status`` (the wsrl_status_t), ``status_name`` and ``message``."""

    def __init__(self, status, message):
        self.status = int(status)
        self.status_name = ffi.string(lib.wsrl_status_string(status)).decode()
        self.message = message
        super().__init__("%s (%s)" % (message, self.status_name) if message else self.status_name)


class InvalidArgumentError(Error, ValueError): pass
class OutOfMemoryError(Error, MemoryError): pass
class WsrlIOError(Error, OSError): pass
class CorruptError(Error): pass
class VersionMismatchError(Error): pass
class BackendError(Error): pass
class EnvCallbackError(Error): pass
class NonFiniteError(Error, ValueError): pass
class WrongStateError(Error, RuntimeError): pass
class CancelledError(Error): pass
class UnsupportedError(Error, NotImplementedError): pass


class LayoutError(ImportError):
    """The library's struct layout differs from the one the binding was built for."""


_BY_STATUS = {
    lib.WSRL_ERR_INVALID_ARGUMENT: InvalidArgumentError,
    lib.WSRL_ERR_OUT_OF_MEMORY: OutOfMemoryError,
    lib.WSRL_ERR_IO: WsrlIOError,
    lib.WSRL_ERR_CORRUPT: CorruptError,
    lib.WSRL_ERR_VERSION_MISMATCH: VersionMismatchError,
    lib.WSRL_ERR_BACKEND: BackendError,
    lib.WSRL_ERR_ENV_CALLBACK: EnvCallbackError,
    lib.WSRL_ERR_NON_FINITE: NonFiniteError,
    lib.WSRL_ERR_WRONG_STATE: WrongStateError,
    lib.WSRL_ERR_CANCELLED: CancelledError,
    lib.WSRL_ERR_UNSUPPORTED: UnsupportedError,
}


def last_message():
    return ffi.string(lib.wsrl_last_error_message()).decode("utf-8", "replace")


def error(status):
    """The exception for a failed call (the message is read on this thread, right after it)."""
    return _BY_STATUS.get(int(status), Error)(status, last_message())


def check(status):
    if status != 0:
        raise error(status)


def enc(path):
    return os.fsencode(path)


# ---------------------------------------------------------------- handles


class Handle:
    """Owns one C handle and strong references to the handles it borrows.

    Wrappers keep their Handle in ``_h``; Handles refer only to the Handles
    they depend on (never back), so even when the Python wrappers die in a
    garbage cycle, refcounting frees a session before its agent and replay
    and an env before its callbacks.
    """

    __slots__ = ("ptr", "_destroy", "deps", "forked", "__weakref__")

    def __init__(self, ptr, destroy, deps=()):
        self.ptr = ptr
        self._destroy = destroy
        self.deps = list(deps)
        self.forked = False
        _live.add(self)

    def close(self):
        ptr, self.ptr = self.ptr, ffi.NULL
        if ptr != ffi.NULL and not self.forked:
            self._destroy(ptr)
        self.deps = []

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


class Wrapper:
    """Base of the handle wrappers: a context manager whose close() frees the handle."""

    _h = None

    @property
    def _ptr(self):
        h = self._h
        if h is None or h.ptr == ffi.NULL:
            if h is not None and h.forked:
                raise RuntimeError(_FORK_MESSAGE % type(self).__name__)
            raise ValueError("this %s is closed" % type(self).__name__)
        return h.ptr

    def close(self):
        """Let go of the handle: freed now unless another handle borrows it
        (a session its agent), then when that one is freed."""
        self._h = None

    @property
    def closed(self):
        return self._h is None or self._h.ptr == ffi.NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ---------------------------------------------------------------- fork

_live = weakref.WeakSet()
_FORK_MESSAGE = ("wsrl: this %s was created before os.fork(); a forked child cannot use the parent's handles "
                 "(libwsrl's OpenMP/oneDNN thread pools do not survive fork). Create new handles in the child, "
                 "or use multiprocessing's 'spawn' or 'forkserver' start method")


def _after_fork_in_child():
    # The child's copies of the parent's handles are left alone: never
    # freed here (the parent owns them) and refused on use.
    for h in list(_live):
        h.forked = True
        h.ptr = ffi.NULL


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ---------------------------------------------------------------- layout

def mirrored_structs(ffi_=None):
    """The public structs the binding mirrors: every complete wsrl_*_t
    struct in the cdef (the opaque handles have no fields)."""
    ffi_ = ffi_ or ffi
    out = []
    for name in ffi_.list_types()[0]:
        t = ffi_.typeof(name) if name.startswith("wsrl_") else None
        if t is not None and t.kind == "struct" and t.fields is not None:
            out.append(name)
    return sorted(out)


def _layout_problems(ffi_, lib_, name):
    """How the binding's @name differs from the loaded library's layout table."""
    off, size = ffi_.new("uint32_t *"), ffi_.new("uint32_t *")
    if lib_.wsrl_layout_get(name.encode(), ffi_.NULL, off, size) != 0:
        return ["%s: the library has no such struct" % name]
    bad = []
    for field, f in ffi_.typeof(name).fields:
        mine = (f.offset, ffi_.sizeof(f.type))
        if lib_.wsrl_layout_get(name.encode(), field.encode(), off, size) != 0:
            bad.append("%s.%s (offset %d) is not in the library's %s" % (name, field, f.offset, name))
        elif (off[0], size[0]) != mine:
            bad.append("%s.%s is at offset %d, %d bytes in the binding but at offset %d, %d bytes in the library"
                       % ((name, field) + mine + (off[0], size[0])))
    return bad


def check_layout(ffi_=None, lib_=None):
    """Compare the offset and size of every field of every public struct the
    binding mirrors with the loaded library's layout table
    (wsrl_layout_get); raise LayoutError naming each difference. A library
    struct longer than the binding's is fine (the binding is older)."""
    ffi_ = ffi_ or ffi
    lib_ = lib_ or lib
    bad = []
    for name in mirrored_structs(ffi_):
        bad += _layout_problems(ffi_, lib_, name)
    if bad:
        raise LayoutError("wsrl: the binding does not match the loaded libwsrl (%s); rebuild and reinstall "
                          "the python package together with the library: %s" % (LIBRARY_PATH, "; ".join(bad)))


check_layout()
