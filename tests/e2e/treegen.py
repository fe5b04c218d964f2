"""Generates a source tree with everything a backup sees: text, random binary,
duplicates, empty files, sparse files, symlinks, hard links, xattrs, device
nodes, fifos, sockets, deep directories, odd names, varied owners, modes and
nanosecond times. Deterministic for a given seed."""

import os
import random
import socket
import stat

MiB = 1 << 20

ODD_NAMES = [
    "with space", " leading space", "trailing space ", "tab\tinside", "new\nline",
    "ünïcødé-ñame", "日本語のファイル", "emoji-😀", "-dash-first", "--double", "*star?",
    "back\\slash", "quote'single", 'quote"double', "semi;colon", "$dollar", "#hash",
    "percent%20", "colon:name", ".hidden", "..dots", "a" * 255, "é" * 127,
    "CaseName", "casename",
]

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron "
         "pi rho sigma tau upsilon phi chi psi omega backup snapshot object storage").split()


def text(rng, size):
    out = []
    n = 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def generate(root, seed=1, scale=1.0):
    """Fills `root` (an existing empty directory). Returns a short summary."""
    rng = random.Random(seed)
    counts = {}

    def count(kind):
        counts[kind] = counts.get(kind, 0) + 1

    def p(*names):
        return os.path.join(root, *names)

    os.makedirs(p("text", "nested"))
    for i in range(int(40 * scale)):
        write(p("text", f"doc{i:03d}.txt"), text(rng, rng.randint(0, 200000)))
        count("text")
    write(p("text", "nested", "big.log"), text(rng, int(6 * MiB * scale)))

    os.mkdir(p("binary"))
    for i, size in enumerate([1, 4095, 4096, 4097, 65536, MiB - 1, MiB, MiB + 1,
                              int(3 * MiB * scale) + 17]):
        write(p("binary", f"random{i}.bin"), rng.randbytes(size))
        count("binary")

    os.mkdir(p("dups"))
    blob = rng.randbytes(int(2 * MiB * scale) + 12345)
    for i in range(4):
        write(p("dups", f"copy{i}.bin"), blob)
    write(p("dups", "copy-plus-tail.bin"), blob + b"tail")
    write(p("dups", "tail-plus-copy.bin"), b"head" + blob)
    count("dups")

    os.mkdir(p("empty"))
    for i in range(5):
        write(p("empty", f"empty{i}"), b"", 0o600 + i)
    os.mkdir(p("empty", "emptydir"))

    os.mkdir(p("sparse"))
    with open(p("sparse", "hole-64m"), "wb") as f:
        f.write(b"start")
        f.seek(64 * MiB)
        f.write(b"end")
    with open(p("sparse", "only-hole"), "wb") as f:
        f.truncate(32 * MiB)
    with open(p("sparse", "zeros-written"), "wb") as f:
        f.write(bytes(3 * MiB))

    os.mkdir(p("links"))
    write(p("links", "target"), b"symlink target\n")
    os.symlink("target", p("links", "relative"))
    os.symlink("/etc/hostname", p("links", "absolute-outside"))
    os.symlink("no/such/file", p("links", "dangling"))
    os.symlink("../text", p("links", "to-dir"))
    os.symlink("relative", p("links", "chain"))
    os.symlink("ünï cødé → target", p("links", "unicode-target"))
    os.symlink("self-loop", p("links", "self-loop"))

    os.makedirs(p("hard", "other"))
    write(p("hard", "original"), rng.randbytes(100000))
    os.link(p("hard", "original"), p("hard", "second"))
    os.link(p("hard", "original"), p("hard", "other", "third"))
    write(p("hard", "pair"), b"two names")
    os.link(p("hard", "pair"), p("hard", "pair-twin"))

    os.mkdir(p("xattrs"))
    write(p("xattrs", "tagged"), b"xattr carrier")
    os.setxattr(p("xattrs", "tagged"), "user.comment", b"a comment")
    os.setxattr(p("xattrs", "tagged"), "user.binary", bytes(range(256)))
    os.setxattr(p("xattrs", "tagged"), "user.empty", b"")
    os.setxattr(p("xattrs", "tagged"), "trusted.backup", b"trusted")
    os.setxattr(p("xattrs"), "user.on-dir", b"dir")
    for i in range(20):
        os.setxattr(p("xattrs", "tagged"), f"user.many.{i}", str(i).encode() * (i + 1))

    os.mkdir(p("special"))
    os.mknod(p("special", "null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mknod(p("special", "disk"), stat.S_IFBLK | 0o660, os.makedev(8, 16))
    os.mkfifo(p("special", "fifo"), 0o620)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(p("special", "sock"))
    s.close()

    deep = p("deep")
    for level in range(40):
        deep = os.path.join(deep, f"level{level:02d}")
    os.makedirs(deep)
    write(os.path.join(deep, "bottom.txt"), b"at the bottom\n")

    os.mkdir(p("odd"))
    for name in ODD_NAMES:
        write(p("odd", name), name.encode() + b"\n")
        count("odd")
    os.mkdir(p("odd", "dir with space"))
    write(p("odd", "dir with space", "new\nline inside"), b"x")

    os.mkdir(p("owners"))
    for i, (uid, gid, mode) in enumerate([(0, 0, 0o644), (1000, 1000, 0o600),
                                          (65534, 65534, 0o640), (12345, 54321, 0o444),
                                          (1, 2, 0o4755), (3, 4, 0o2711), (0, 0, 0o1777),
                                          (2000000, 3000000, 0o000)]):
        path = p("owners", f"file{i}")
        write(path, f"owner {uid}:{gid}\n".encode())
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    os.mkdir(p("owners", "sticky-dir"))
    os.chmod(p("owners", "sticky-dir"), 0o1777)
    os.mkdir(p("owners", "setgid-dir"))
    os.chown(p("owners", "setgid-dir"), 0, 4242)
    os.chmod(p("owners", "setgid-dir"), 0o2775)
    os.symlink("file1", p("owners", "link-owned"))
    os.chown(p("owners", "link-owned"), 777, 888, follow_symlinks=False)

    # Nanosecond times everywhere (directories last, deepest first).
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            path = os.path.join(dirpath, name)
            t = rng.randrange(0, 1_700_000_000) * 10**9 + rng.randrange(10**9)
            os.utime(path, ns=(t + rng.randrange(10**12), t), follow_symlinks=False)
    os.utime(root, ns=(1_700_000_000_123_456_789, 1_700_000_000_987_654_321))
    return counts
