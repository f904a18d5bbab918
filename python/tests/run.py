"""Run one pytest file for `meson test --suite python`; exit 77 (skip) with
the reason when a module the binding or its tests need is missing."""
import importlib.util
import sys


def main():
    need = {"cffi": "python3-cffi", "numpy": "python3-numpy", "pytest": "python3-pytest"}
    missing = [deb for mod, deb in need.items() if importlib.util.find_spec(mod) is None]
    if missing:
        print("SKIP: the python suite needs %s (bash scripts/deps.sh installs them)" % " ".join(missing))
        sys.exit(77)
    import pytest

    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-x"] + sys.argv[1:]))


if __name__ == "__main__":  # spawned multiprocessing children import this module
    main()
