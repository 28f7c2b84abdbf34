#!/usr/bin/env python3
"""Runs the kernel-client scenario against a real pnfsgw server.

Starts `pnfsgw serve --listen 127.0.0.1:0 --data DIR` on a fresh data
directory, boots the Linux NFS client in qemu (kclient-run.sh) once per NFS
minor version, restarts the server on the same port and data directory when
the guest asks for it (a file .restart-me at the export root, seen through
the admin socket), carries out the admin requests the guest makes the same
way (HostRequestWatcher), and finally stops the server
with SIGTERM, which must exit 0.

Exit status: 0 when every run passed, 1 on any failure, 77 (ctest SKIP) when
qemu or a kernel is missing and KC_REQUIRE is not set.
"""
import argparse
import glob
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
LISTENING = re.compile(r"pnfsgw: listening on 127\.0\.0\.1:(\d+)")


def log(msg):
    print(f"[host {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def missing_prerequisites():
    """What the guest needs from the host, as a list of human-readable gaps."""
    gaps = []
    if not shutil.which("qemu-system-x86_64"):
        gaps.append("qemu-system-x86_64 (apt-get install qemu-system-x86)")
    kernels = [k for k in glob.glob("/boot/vmlinuz-*") if os.access(k, os.R_OK)]
    if not kernels:
        gaps.append("a readable kernel in /boot (apt-get install linux-image-amd64)")
    sbin_path = os.environ.get("PATH", "") + ":/sbin:/usr/sbin"  # modprobe, for non-root PATHs
    for tool, pkg in (("/bin/busybox", "busybox-static"), ("cpio", "cpio"), ("modprobe", "kmod"),
                      ("/usr/sbin/xfs_io", "xfsprogs")):
        if not (os.access(tool, os.X_OK) if tool.startswith("/") else shutil.which(tool, path=sbin_path)):
            gaps.append(f"{tool} (apt-get install {pkg})")
    return gaps


class Server:
    """One pnfsgw process at a time on a fixed data dir; stderr to a log file.

    Not thread-safe: the main thread and the restart watcher never use it at
    the same time (the watcher only acts while the guest waits for it).
    """

    def __init__(self, binary, data_dir, log_path):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None
        self.port = 0
        self.generation = 0

    def start(self, port=0, timeout=30):
        self.generation += 1
        with open(self.log_path, "a") as f:
            f.write(f"==== pnfsgw instance {self.generation} (port {port or 'any'}) ====\n")
        log_file = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{port}", "--data", self.data_dir],
            stdout=subprocess.PIPE, stderr=log_file, stdin=subprocess.DEVNULL, text=True)
        log_file.close()
        found = threading.Event()

        def read_stdout(proc):
            for line in proc.stdout:  # keep draining so the server never blocks on stdout
                with open(self.log_path, "a") as f:
                    f.write("[stdout] " + line)
                m = LISTENING.search(line)
                if m and not found.is_set():
                    self.port = int(m.group(1))
                    found.set()

        threading.Thread(target=read_stdout, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.1):
            if self.proc.poll() is not None:
                return f"pnfsgw exited with {self.proc.returncode} before listening"
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                return f"pnfsgw printed no 'listening' line within {timeout} s"
        if port and self.port != port:
            return f"pnfsgw listens on {self.port}, asked for {port}"
        return None

    def stop(self, timeout=30):
        """SIGTERM; returns an error string unless the server exits 0 in time."""
        if self.proc is None:
            return "no server running"
        proc, self.proc = self.proc, None
        if proc.poll() is not None:
            return f"pnfsgw had already exited with {proc.returncode}"
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return f"pnfsgw did not exit within {timeout} s of SIGTERM"
        return None if rc == 0 else f"pnfsgw exited with {rc} after SIGTERM"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class AdminSocket:
    """A client of the server's admin socket (docs/admin.md, "Admin socket
    protocol"), for the watcher's cheap polling; the requests themselves run
    through the `pnfsgw admin` command line. Reconnects after a failure (the
    socket changes with each server instance)."""

    MAGIC = b"PNFSGW-ADMIN/1\0"

    def __init__(self, path):
        self.path = path
        self.sock = None

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise OSError("admin socket closed")
            buf += chunk
        return buf

    def call(self, *words):
        """Returns (ok, text); (False, reason) when the socket is unusable."""
        payload = self.MAGIC + b"".join(w.encode() + b"\0" for w in words)
        for attempt in (1, 2):  # the server closes idle connections after 10 s
            try:
                if self.sock is None:
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.sock.settimeout(10)
                    self.sock.connect(self.path)
                self.sock.sendall(struct.pack(">I", len(payload)) + payload)
                reply = self._recv(struct.unpack(">I", self._recv(4))[0]).decode(errors="replace")
                status, _, text = reply.partition("\n")
                return status == "OK", text
            except OSError as e:
                self.close()
                if attempt == 2:
                    return False, str(e)
        return False, "unreachable"

    def stat(self, path):
        """The `pnfsgw admin stat` fields of PATH, or None if it does not exist."""
        ok, text = self.call("stat", path)
        if not ok:
            return None
        return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


class HostRequestWatcher(threading.Thread):
    """Carries out what the guest asks of the host, through files at the
    export root (the exported store is not visible on the host, so the
    watcher looks through the admin socket):

    - The guest creates DONE (".kc-done") empty, then a request file named
      after what it wants (REQUESTS). A request is pending while it exists
      and DONE is empty.
    - The host carries it out, then answers by growing DONE to 1 byte
      (`fallocate --allocate`), or 2 bytes if it failed. The guest polls
      DONE's size (each open revalidates: close-to-open) and removes both.

    ".restart-me" restarts the server on the same port and data dir. The
    admin requests act on the request file itself: the guest makes it a
    hard link to the file it wants changed, so the host needs no path.
    """

    DONE = "/.kc-done"
    # The offsets must match scenario.sh (step_admin_shift, step_space).
    REQUESTS = {
        "/.restart-me": None,
        "/.kc-insert-range": ["fallocate", "--insert-range", "/.kc-insert-range", "4096", "8192"],
        "/.kc-collapse-range": ["fallocate", "--collapse-range", "/.kc-collapse-range", "0", "12288"],
        # step_space, for clients without FALLOC_FL_ZERO_RANGE over NFS.
        "/.kc-zero-range": ["fallocate", "--zero-range", "/.kc-zero-range", "40960", "8192"],
    }

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.admin = AdminSocket(os.path.join(server.data_dir, "admin.sock"))
        self.errors = []
        self.restarts = 0
        self.admin_requests = 0
        self.restarting = False  # the server is legitimately down meanwhile
        self.done = threading.Event()

    def run(self):
        try:
            while not self.done.wait(0.5):
                if self.server.alive():
                    self.poll()
        finally:
            self.admin.close()

    def poll(self):
        done = self.admin.stat(self.DONE)
        if done is None or done.get("size") != "0":
            return
        for name, words in self.REQUESTS.items():
            if self.admin.stat(name) is None:
                continue
            ok = self.restart() if words is None else self.run_admin(words)
            self.answer(ok)
            return

    def answer(self, ok):
        err = admin_cli(self.server, ["fallocate", "--allocate", self.DONE, "0", "1" if ok else "2"])
        if err:
            self.errors.append(f"answering the guest: {err}")

    def run_admin(self, words):
        log(f"guest asked for: pnfsgw admin {' '.join(words)}")
        err = admin_cli(self.server, words)
        if err:
            self.errors.append(f"pnfsgw admin {' '.join(words)}: {err}")
            log(f"admin request FAILED: {err}")
            return False
        self.admin_requests += 1
        return True

    def restart(self):
        self.restarting = True
        try:
            return self._restart()
        finally:
            self.restarting = False

    def _restart(self):
        port = self.server.port
        log(f"guest asked for a restart; SIGTERM to pnfsgw on port {port}")
        self.admin.close()
        err = self.server.stop()
        if err:
            self.errors.append(f"restart: stopping: {err}")
        for attempt in range(20):  # the port may need a moment to free up
            err = self.server.start(port)
            if err is None:
                break
            time.sleep(0.5)
        if err:
            self.errors.append(f"restart: starting on port {port}: {err}")
            log(f"restart FAILED: {err}")
            return False
        self.restarts += 1
        log(f"pnfsgw restarted on port {port}")
        return True


def admin_cli(server, words, timeout=60):
    """Runs `pnfsgw admin --data DIR WORDS...`; None on success, else why not."""
    try:
        r = subprocess.run([server.binary, "admin", "--data", server.data_dir] + words,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"no answer within {timeout} s"
    if r.returncode != 0:
        return f"exit {r.returncode}: {(r.stderr or r.stdout).strip()}"
    return None


def run_guest(args, version, server, watcher, cache_dir):
    """One kclient-run.sh boot; stopped early if the server dies under it
    (the guest's hard mount would otherwise hang until the guest timeout)."""
    port = server.port
    env = dict(os.environ)
    env.update(NFS_PORT=str(port), KC_CACHE=cache_dir, KC_MEM=str(args.mem),
               KC_TIMEOUT=str(args.guest_timeout), KC_EXTRA=args.kctool,
               KC_ENV=" ".join([f"VERS={version}"] + ([f"KC_SKIP={args.skip}"] if args.skip else [])))
    cmd = [os.path.join(HERE, "kclient-run.sh"), args.scenario]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    passes, fails = 0, []
    finished = threading.Event()

    def watch_server():
        while not finished.wait(1.0):
            if not watcher.restarting and not server.alive():
                rc = server.proc.poll() if server.proc is not None else None
                fails.append(f"FAIL: pnfsgw died under the guest (exit {rc})")
                log(f"pnfsgw died (exit {rc}); stopping the guest")
                os.killpg(proc.pid, signal.SIGTERM)
                return

    monitor = threading.Thread(target=watch_server, daemon=True)
    monitor.start()
    try:
        for line in proc.stdout:
            print(f"[vers={version}] {line}", end="", flush=True)
            if line.startswith("PASS: "):
                passes += 1
            elif line.startswith("FAIL: "):
                fails.append(line.strip())
        rc = proc.wait()
    finally:
        finished.set()
        if proc.poll() is None:  # interrupted: take qemu down with us
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
    monitor.join()
    return rc, passes, fails, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True, help="path to the pnfsgw binary")
    ap.add_argument("--kctool", required=True, help="static kctool binary for the guest")
    ap.add_argument("--work-dir", required=True,
                    help="build-dir directory for the initramfs cache and data dirs")
    ap.add_argument("--scenario", default=os.path.join(HERE, "scenario.sh"))
    ap.add_argument("--versions", default=os.environ.get("KC_VERSIONS", "4.1,4.2,3"))
    ap.add_argument("--skip", default=os.environ.get("KC_SKIP", ""),
                    help="comma-separated scenario steps to skip (debugging)")
    ap.add_argument("--mem", type=int, default=int(os.environ.get("KC_MEM", "1024")))
    ap.add_argument("--guest-timeout", type=int,
                    default=int(os.environ.get("KC_TIMEOUT", "1500")))
    ap.add_argument("--keep", action="store_true", help="keep the data dir even on success")
    args = ap.parse_args()

    gaps = missing_prerequisites()
    if gaps:
        msg = "kclient: missing " + "; ".join(gaps)
        if os.environ.get("KC_REQUIRE"):
            print(msg + " (KC_REQUIRE is set: failing)", flush=True)
            return 1
        print(msg + ": skipping", flush=True)
        return SKIP
    for path in (args.server, args.kctool):
        if not os.access(path, os.X_OK):
            print(f"kclient: {path} is not an executable (build it first)", flush=True)
            return 1

    os.makedirs(args.work_dir, exist_ok=True)
    cache_dir = os.path.join(args.work_dir, "cache")
    data_dir = tempfile.mkdtemp(prefix="data.", dir=args.work_dir)
    server = Server(args.server, data_dir, os.path.join(args.work_dir, os.path.basename(data_dir) + ".server.log"))
    failures = []
    t_all = time.monotonic()
    err = server.start()
    if err:
        print(f"kclient: {err}\n--- server log ---\n{server.log_tail()}", flush=True)
        return 1
    log(f"pnfsgw listening on port {server.port}, data {data_dir}")
    watcher = HostRequestWatcher(server)
    watcher.start()
    summary = []
    try:
        for version in [v for v in args.versions.split(",") if v]:
            log(f"guest run with vers={version}")
            restarts_before = watcher.restarts
            admin_before = watcher.admin_requests
            rc, passes, fails, secs = run_guest(args, version, server, watcher, cache_dir)
            summary.append(f"vers={version}: exit {rc}, {passes} PASS, {len(fails)} FAIL, {secs:.0f} s")
            if rc != 0 or fails:
                failures.append(f"vers={version}: guest exit {rc}" + (f" ({fails[0]})" if fails else ""))
            elif "restart" not in args.skip.split(",") and watcher.restarts == restarts_before:
                failures.append(f"vers={version}: the guest passed without a server restart")
            elif "admin_shift" not in args.skip.split(",") and watcher.admin_requests < admin_before + 2:
                failures.append(f"vers={version}: the guest passed without its admin requests")
            if not server.alive() and not watcher.restarting:
                failures.append(f"vers={version}: pnfsgw is not running after the guest run")
                break
    finally:
        watcher.done.set()
        watcher.join()
        failures += watcher.errors
        if server.proc is not None:
            err = server.stop()
            if err:
                failures.append(f"final stop: {err}")
    log("summary:")
    for line in summary:
        print(f"  {line}", flush=True)
    print(f"  server restarts: {watcher.restarts}; admin requests: {watcher.admin_requests}; total {time.monotonic() - t_all:.0f} s", flush=True)
    if failures:
        print("kclient: FAILED:\n  " + "\n  ".join(failures), flush=True)
        print(f"--- server log tail ({server.log_path}) ---\n{server.log_tail()}", flush=True)
        print(f"kclient: data dir kept at {data_dir}", flush=True)
        return 1
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
        os.unlink(server.log_path)
    print("kclient: all runs passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
