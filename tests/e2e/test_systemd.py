#!/usr/bin/python3
"""systemd integration: with $NOTIFY_SOCKET set (as systemd does for
Type=notify services), mount.hoardfs sends READY=1 once the mount is live,
in the foreground (--fg) and as a daemon; stopping the foreground mount
(SIGTERM, what systemctl stop sends) uploads everything before it exits.
"""

import os
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (MOUNT, Checks, Hoard, is_mounted, log, pid_alive,  # noqa: E402
                         require_environment, wait_until)


def notify_socket(h):
    path = os.path.join(h.base, "notify.sock")
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(120)
    return sock, path


def ready_when_live(h, foreground):
    sock, path = notify_socket(h)
    env = dict(h.env, NOTIFY_SOCKET=path)
    argv = [MOUNT, *(["--fg"] if foreground else []), "--cachedir", h.cache, h.url, h.mnt]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, text=True)
    proc.stdin.write(h.passphrase + "\n")
    proc.stdin.close()
    try:
        message = sock.recv(256).decode()
    finally:
        sock.close()
    if message != "READY=1":
        raise AssertionError(f"expected READY=1 on $NOTIFY_SOCKET, got {message!r}")
    if not is_mounted(h.mnt):
        raise AssertionError("READY=1 came before the mount was live")
    h.remember_daemon(h.mnt)
    log(f"READY=1 received with the mount live ({'foreground' if foreground else 'daemon'})")
    return proc


def main():
    require_environment()
    checks = Checks("systemd")
    with Hoard("systemd") as h:
        checks.run("mkfs", h.mkfs)
        fg = {}
        checks.run("foreground_ready_when_live", lambda: fg.setdefault("proc", ready_when_live(h, True)))

        def stop_uploads_everything():
            with open(os.path.join(h.mnt, "written-under-systemd"), "wb") as f:
                f.write(os.urandom(3 << 20))
            proc = fg["proc"]
            proc.send_signal(signal.SIGTERM)  # systemctl stop
            rc = proc.wait(timeout=300)
            if rc != 0:
                raise AssertionError(f"mount.hoardfs --fg exited {rc} after SIGTERM: {proc.stderr.read()}")
            if is_mounted(h.mnt):
                raise AssertionError("still mounted after the foreground mount exited")
        if "proc" in fg:
            checks.run("sigterm_unmounts_after_the_final_upload", stop_uploads_everything)

        def data_in_backend():
            import shutil
            shutil.rmtree(h.cache)
            os.mkdir(h.cache)
            proc = ready_when_live(h, False)
            rc = proc.wait(timeout=60)
            if rc != 0:
                raise AssertionError(f"mount.hoardfs (daemon) exited {rc}")
            size = os.path.getsize(os.path.join(h.mnt, "written-under-systemd"))
            if size != 3 << 20:
                raise AssertionError(f"the file has {size} bytes after a mount with an empty cache")
        checks.run("daemon_ready_when_live_and_data_from_the_backend", data_in_backend)
        checks.run("final_umount", h.umount)
        for pid in list(h.daemon_pids):
            wait_until(lambda: not pid_alive(pid), 60, f"daemon {pid} to exit")
    checks.finish()


if __name__ == "__main__":
    main()
