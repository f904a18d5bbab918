"""Where `meson install` puts the wsrl package: meson's python module
directory, unless the interpreter does not import from there.

Debian's python3 imports /usr/local/lib/python3.X/dist-packages, while meson
(<= 1.x, mesonbuild/meson#8739) installs a /usr/local prefix into
/usr/local/lib/python3/dist-packages, which no Debian interpreter searches.
Then the interpreter's own site directory under the prefix is used.

    python3 site_dir.py PREFIX MESON_DIR  ->  prints the directory
"""
import os
import sys


def site_dir(prefix, meson_dir, path=None):
    path = [os.path.normpath(p) for p in (sys.path if path is None else path) if p]
    if os.path.normpath(meson_dir) in path:
        return meson_dir
    root = os.path.normpath(prefix) + os.sep
    for p in path:
        if p.startswith(root) and os.path.basename(p) in ("site-packages", "dist-packages"):
            return p
    return meson_dir  # a private prefix: the user sets PYTHONPATH (docs/python.md)


if __name__ == "__main__":
    print(site_dir(sys.argv[1], sys.argv[2]))
