#!/usr/bin/env python3
"""cffi reads libwsrl's public headers (docs/api-stability.md, "Headers and FFI parsers").

  check-cffi.py CC SRC_INCLUDE BUILD_INCLUDE CDEFGEN_DIR LIB

1. The C preprocessor's output of <wsrl/wsrl.h>, with WSRL_API,
   WSRL_BEGIN_DECLS and WSRL_END_DECLS predefined empty, parses in cffi's
   cdef (the libwsrl lines only: the system headers' are cffi's built-ins).
2. So does the cdef the Python binding generates (python/wsrl/_cdefgen.py).
3. What a binding does at load time: every struct cffi laid out has the same
   size and field offsets and sizes as the loaded library's run-time table
   (wsrl_layout_get()), and the table has no struct or field cffi lacks.
Exit 77 (skip) without cffi (Debian package python3-cffi).
"""
import os
import subprocess
import sys


def preprocessed(cc, dirs):
    """The libwsrl lines of `cc -E <wsrl/wsrl.h>`, by the line markers."""
    out = subprocess.run([cc, "-E", "-DWSRL_API=", "-DWSRL_BEGIN_DECLS=", "-DWSRL_END_DECLS="]
                         + ["-I" + d for d in dirs] + ["-x", "c", "-"],
                         input="#include <wsrl/wsrl.h>\n", capture_output=True, text=True, check=True).stdout
    keep, lines = False, []
    wsrl_dirs = tuple(os.path.realpath(os.path.join(d, "wsrl")) + os.sep for d in dirs)
    for line in out.splitlines():
        if line.startswith("# "):
            path = line.split('"')[1] if '"' in line else ""
            keep = os.path.realpath(path).startswith(wsrl_dirs)
        elif keep and line.strip():
            lines.append(line)
    return "\n".join(lines) + "\n"


def parse(cffi, what, text):
    ffi = cffi.FFI()
    try:
        ffi.cdef(text)
    except Exception as e:  # cffi raises CDefError, or pycparser's ParseError
        print("FAIL: cffi cannot parse %s: %s: %s" % (what, type(e).__name__, e))
        return None
    print("ok: cffi parses %s (%d lines)" % (what, text.count("\n")))
    return ffi


def structs_of(ffi):
    """{typedef name: cffi struct type} for every struct typedef with a body
    (the opaque handles have none)."""
    out = {}
    for name in ffi.list_types()[0]:
        t = ffi.typeof(name)
        if t.kind == "struct" and t.fields is not None:
            out[name] = t
    return out


def layout_matches(ffi, lib):
    bad = []
    offset, size = ffi.new("uint32_t *"), ffi.new("uint32_t *")
    structs = structs_of(ffi)
    for name, t in sorted(structs.items()):
        if lib.wsrl_layout_get(name.encode(), ffi.NULL, offset, size) != 0:
            bad.append("%s: %s" % (name, ffi.string(lib.wsrl_last_error_message()).decode()))
            continue
        if size[0] != ffi.sizeof(t):
            bad.append("%s: %d bytes in the library, %d in cffi" % (name, size[0], ffi.sizeof(t)))
        for fname, field in t.fields:
            if lib.wsrl_layout_get(name.encode(), fname.encode(), offset, size) != 0:
                bad.append("%s.%s: %s" % (name, fname, ffi.string(lib.wsrl_last_error_message()).decode()))
            elif (offset[0], size[0]) != (field.offset, ffi.sizeof(field.type)):
                bad.append("%s.%s: offset %d size %d in the library, %d and %d in cffi"
                           % (name, fname, offset[0], size[0], field.offset, ffi.sizeof(field.type)))
    sname, fname = ffi.new("const char **"), ffi.new("const char **")
    for i in range(lib.wsrl_layout_count()):
        lib.wsrl_layout_info(i, sname, fname, ffi.NULL, ffi.NULL)
        s, f = ffi.string(sname[0]).decode(), ffi.string(fname[0]).decode()
        if s not in structs or f not in dict(structs[s].fields):
            bad.append("the library's table has %s.%s, which cffi does not see" % (s, f))
    if bad:
        print("FAIL: the run-time layout table and cffi disagree:\n  " + "\n  ".join(bad))
        return False
    print("ok: wsrl_layout_get() matches cffi for %d structs, %d fields"
          % (len(structs), lib.wsrl_layout_count()))
    return True


def main(argv):
    try:
        import cffi
    except ImportError:
        print("SKIP: %s has no cffi (Debian package python3-cffi; scripts/deps.sh installs it)" % sys.executable)
        return 77
    cc, src_inc, build_inc, cdefgen_dir, lib_path = argv
    dirs = [src_inc, build_inc]
    ffi = parse(cffi, "the preprocessed public headers", preprocessed(cc, dirs))
    sys.path.insert(0, cdefgen_dir)
    import _cdefgen
    binding = parse(cffi, "the binding's generated cdef (_cdefgen)",
                    _cdefgen.generate("wsrl.h", [os.path.join(d, "wsrl") for d in dirs]))
    if ffi is None or binding is None:
        return 1
    if not lib_path:
        print("note: a sanitized build: the layout is not compared (Python cannot load the library)")
        return 0
    return 0 if layout_matches(binding, binding.dlopen(lib_path)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
