#!/usr/bin/env python3
"""Compare the built library's struct layout with tests/abi/layout.tsv.

  check-layout.py COMMITTED DUMP      run DUMP (tests/abi/layout-dump.c: the
                                      loaded library's table) and compare; exit
                                      0 when equal; 1 on a break (a field
                                      moved, resized, renamed or removed, a
                                      struct shrunk or gone, a field added in
                                      the old tail padding) or when the table
                                      grew compatibly but is not recorded yet
  check-layout.py --self-test COMMITTED
                                      mutate the committed table and prove the
                                      comparison calls each mutation right
"""
import subprocess
import sys


def parse(text):
    """{struct: {"sizeof": n, "fields": [(name, offset, size)]}}, in file order."""
    table = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 4:
            raise ValueError("line %d: expected struct, field, offset, size: %r" % (n, line))
        s = table.setdefault(cols[0], {"sizeof": None, "fields": []})
        if cols[1] == "sizeof":
            s["sizeof"] = int(cols[3])
        else:
            s["fields"].append((cols[1], int(cols[2]), int(cols[3])))
    return table


def compare(old, new):
    """(breaks, additions): lists of sentences."""
    breaks, additions = [], []
    for name, o in old.items():
        n = new.get(name)
        if n is None:
            breaks.append("%s is gone" % name)
            continue
        if n["sizeof"] < o["sizeof"]:
            breaks.append("%s shrank from %d to %d bytes" % (name, o["sizeof"], n["sizeof"]))
        for i, (f, off, size) in enumerate(o["fields"]):
            if i >= len(n["fields"]):
                breaks.append("%s.%s is gone" % (name, f))
                continue
            nf, noff, nsize = n["fields"][i]
            if (nf, noff, nsize) != (f, off, size):
                breaks.append("%s field %d was %s at offset %d (%d bytes), is %s at %d (%d bytes)"
                              % (name, i, f, off, size, nf, noff, nsize))
        for nf, noff, nsize in n["fields"][len(o["fields"]):]:
            if noff < o["sizeof"]:
                breaks.append("%s.%s is appended at offset %d, inside the old struct (%d bytes): an "
                              "older host's struct_size covers it; start it at or after %d"
                              % (name, nf, noff, o["sizeof"], o["sizeof"]))
            else:
                additions.append("%s.%s appended at offset %d" % (name, nf, noff))
        if n["sizeof"] > o["sizeof"] and len(n["fields"]) == len(o["fields"]):
            additions.append("%s grew from %d to %d bytes" % (name, o["sizeof"], n["sizeof"]))
    additions += ["new struct %s" % name for name in new if name not in old]
    return breaks, additions


def check(committed_path, current_text):
    with open(committed_path, encoding="utf-8") as f:
        old = parse(f.read())
    breaks, additions = compare(old, parse(current_text))
    if breaks:
        print("ABI BREAK against %s:\n  %s" % (committed_path, "\n  ".join(breaks)))
        print("Fields are only ever appended at a struct's end (docs/api-stability.md).")
        return 1
    if additions:
        print("The layout grew compatibly but %s does not record it:\n  %s" % (committed_path, "\n  ".join(additions)))
        print("Run scripts/update-abi.sh, review the diff and commit it.")
        return 1
    print("layout ok: %d structs, %d fields as in %s"
          % (len(old), sum(len(s["fields"]) for s in old.values()), committed_path))
    return 0


def _mutants(table):
    """(name, expected verdict, mutated table) from the committed table."""
    import copy
    first = next(iter(table))

    def mutated(edit):
        t = copy.deepcopy(table)
        edit(t[first], t)
        return t

    def insert_mid(s, t):
        f = s["fields"]
        shift = 8
        s["fields"] = [f[0], ("inserted", f[0][1] + shift, 8)] + [(n, o + shift, z) for n, o, z in f[1:]]
        s["sizeof"] += shift

    def append(at_end):
        def edit(s, t):
            off = s["sizeof"] if at_end else s["sizeof"] - 4
            s["fields"].append(("appended", off, 4))
            s["sizeof"] = max(s["sizeof"], off + 8)
        return edit

    return [
        ("unchanged", "equal", mutated(lambda s, t: None)),
        ("field inserted mid-struct", "break", mutated(insert_mid)),
        ("last field removed", "break", mutated(lambda s, t: s["fields"].pop())),
        ("field resized", "break", mutated(lambda s, t: s["fields"].__setitem__(
            1, (s["fields"][1][0], s["fields"][1][1], s["fields"][1][2] * 2)))),
        ("field renamed", "break", mutated(lambda s, t: s["fields"].__setitem__(
            1, ("renamed",) + s["fields"][1][1:]))),
        ("struct removed", "break", mutated(lambda s, t: t.pop(first))),
        ("field appended in the old tail padding", "break", mutated(append(False))),
        ("field appended at the end", "addition", mutated(append(True))),
        ("new struct", "addition", mutated(lambda s, t: t.__setitem__(
            "wsrl_new_t", {"sizeof": 8, "fields": [("struct_size", 0, 4)]}))),
    ]


def self_test(committed_path):
    with open(committed_path, encoding="utf-8") as f:
        table = parse(f.read())
    fails = 0
    for name, want, mutant in _mutants(table):
        breaks, additions = compare(table, mutant)
        got = "break" if breaks else "addition" if additions else "equal"
        print("%s %s: %s" % ("ok" if got == want else "FAIL", name, got))
        fails += got != want
    return 1 if fails else 0


def main(argv):
    if len(argv) == 2 and argv[0] == "--self-test":
        return self_test(argv[1])
    if len(argv) == 2:
        return check(argv[0], subprocess.run([argv[1]], capture_output=True, text=True, check=True).stdout)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
