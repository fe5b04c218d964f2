#!/usr/bin/python3
"""Stored objects of an encrypted filesystem reveal neither file contents nor
file names.

Files carrying distinctive marker strings (in their contents, names,
directory names, symlink targets and xattrs) are written with compression
off (so only encryption can hide them), the filesystem is unmounted, and
every stored object file and every object name is searched for the markers.
A --plain filesystem written the same way is the control: there the content
markers must be found, which shows that the search itself works.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import Checks, Hoard, log, require_environment  # noqa: E402

MiB = 1 << 20
TOKEN = "%08x" % random.SystemRandom().getrandbits(32)
CONTENT_MARKERS = [f"CONTENT-CANARY-{TOKEN}-{i}".encode() for i in range(3)]
NAME_MARKERS = [f"namecanary{TOKEN}{kind}" for kind in ("file", "dir", "link", "xattr")]
LINK_TARGET_MARKER = f"linktargetcanary{TOKEN}"
XATTR_VALUE_MARKER = f"XATTR-VALUE-CANARY-{TOKEN}".encode()


def populate(m):
    rng = random.Random(11)
    d = os.path.join(m, NAME_MARKERS[1])
    os.mkdir(d)
    # Small file: the marker alone.
    with open(os.path.join(d, NAME_MARKERS[0] + ".txt"), "wb") as f:
        f.write(CONTENT_MARKERS[0] * 50)
    # Large file: markers inside random data, across several blocks.
    data = bytearray(rng.randbytes(6 * MiB))
    for i, off in enumerate(range(1000, len(data) - 100, 700000)):
        marker = CONTENT_MARKERS[1 + i % 2]
        data[off:off + len(marker)] = marker
    with open(os.path.join(d, "large.bin"), "wb") as f:
        f.write(data)
    os.symlink(LINK_TARGET_MARKER, os.path.join(d, NAME_MARKERS[2]))
    with open(os.path.join(d, "tagged"), "wb") as f:
        f.write(b"x")
    os.setxattr(os.path.join(d, "tagged"), "user." + NAME_MARKERS[3], XATTR_VALUE_MARKER)


def markers():
    texts = CONTENT_MARKERS + [XATTR_VALUE_MARKER] + [
        n.encode() for n in NAME_MARKERS + [LINK_TARGET_MARKER]]
    # Also the UTF-16 spelling, in case anything is stored that way.
    return texts + [t.decode().encode("utf-16-le") for t in texts]


def search(h):
    """Returns {marker: [where found]} over object names and object bytes."""
    found = {}
    objects = h.stored_files()
    if not objects:
        raise AssertionError(f"no objects stored under {h.storage}")
    wanted = markers()
    for path in objects:
        rel = os.path.relpath(path, h.storage)
        with open(path, "rb") as f:
            blob = f.read()
        for marker in wanted:
            if marker in rel.encode():
                found.setdefault(marker, []).append(f"object name {rel}")
            if marker in blob:
                found.setdefault(marker, []).append(f"contents of {rel}")
    return found, len(objects)


def encrypted(h):
    h.mkfs()
    h.mount("--compress", "none")
    populate(h.mnt)
    h.umount()
    found, n = search(h)
    log(f"    searched {n} stored objects for {len(markers())} markers")
    if found:
        lines = [f"{marker!r} in {', '.join(where[:5])}" for marker, where in found.items()]
        raise AssertionError("plaintext found in the backend of an encrypted filesystem:\n    "
                             + "\n    ".join(lines))


def plain_control(h):
    h.mkfs("--plain")
    h.mount("--compress", "none")
    populate(h.mnt)
    h.umount()
    found, n = search(h)
    missing = [m for m in CONTENT_MARKERS if m not in found]
    if missing:
        raise AssertionError(f"control failed: in a --plain filesystem mounted with "
                             f"--compress none, the content markers {missing} were not found in "
                             f"{n} objects, so the search cannot be trusted")


def main():
    require_environment()
    checks = Checks("confidentiality")
    with Hoard("secret") as h:
        checks.run("encrypted_objects_reveal_nothing", encrypted, h)
    with Hoard("plain") as h:
        checks.run("plain_control_finds_markers", plain_control, h)
    checks.finish()


if __name__ == "__main__":
    main()
