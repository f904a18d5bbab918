"""Derive the cffi cdef from libwsrl's public headers.

The binding declares nothing by hand: meson runs this at build time over the
umbrella header (following its #include lines in order), and the python test
suite runs it again over the source headers to prove the built copy is
current. What cffi cannot parse is dropped: comments, include guards, the
export/extern "C" macros, and #defines other than plain integer constants
(the *_INIT initialisers have *_init() functions for FFI).
"""
import os
import re
import sys

_DROP_WORDS = re.compile(r"\b(WSRL_API|WSRL_BEGIN_DECLS|WSRL_END_DECLS)\b")
_INT_DEFINE = re.compile(r"#\s*define\s+(WSRL_\w+)\s+\(?(-?\d+)[uUlL]*\)?\s*$")
_INCLUDE = re.compile(r'#\s*include\s+(?:"(\w+\.h)"|<wsrl/(\w+\.h)>)')
# Headers that hold only the visibility macros.
_SKIP = {"export.h"}


def _strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


def _header_order(name, dirs, seen, out):
    if name in seen or name in _SKIP:
        return
    seen.add(name)
    path = next((os.path.join(d, name) for d in dirs if os.path.exists(os.path.join(d, name))), None)
    if path is None:
        raise FileNotFoundError("libwsrl header %s not found in %s" % (name, ", ".join(dirs)))
    with open(path, encoding="utf-8") as f:
        text = _strip_comments(f.read())
    for m in _INCLUDE.finditer(text):
        _header_order(m.group(1) or m.group(2), dirs, seen, out)
    out.append((name, text))


def _declarations(text):
    lines, cont = [], False
    for line in text.splitlines():
        if cont:  # continuation of a dropped multi-line directive
            cont = line.rstrip().endswith("\\")
            continue
        s = line.strip()
        if s.startswith("#"):
            m = _INT_DEFINE.match(s)
            if m:
                lines.append("#define %s %s" % (m.group(1), m.group(2)))
            cont = s.endswith("\\")
            continue
        s = _DROP_WORDS.sub("", line).rstrip()
        if s.strip():
            lines.append(s)
    return lines


def generate(umbrella, include_dirs):
    """The cdef text for @umbrella (e.g. "wsrl.h") found in @include_dirs."""
    out = []
    _header_order(umbrella, list(include_dirs), set(), out)
    parts = []
    for name, text in out:
        parts.append("/* %s */" % name)
        parts.extend(_declarations(text))
    return "\n".join(parts) + "\n"


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: _cdefgen.py OUT UMBRELLA_HEADER [INCLUDE_DIR...]\n")
        return 2
    out, umbrella, dirs = argv[0], argv[1], argv[2:]
    text = generate(os.path.basename(umbrella), [os.path.dirname(umbrella)] + dirs)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
