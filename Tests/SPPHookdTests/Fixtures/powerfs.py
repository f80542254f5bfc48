#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A FUSE filesystem that models what survives a power cut (in the spirit of LazyFS).

    powerfs.py MOUNTPOINT STATE_FILE

Everything lives in memory. A file's data is durable once the file is fsynced (fsync or
fdatasync); a directory entry (create, mkdir, rename, link, unlink) once its parent
directory is fsynced. Until then a write or a rename is visible to every process, as in a
page cache, and a power cut drops it.

A failed file fsync behaves as Linux's write-back error handling does ("fsyncgate"): the
kernel reports the error once and marks the dirty pages clean. Processes still read what
they wrote, but the bytes written since the file's last successful sync never reach the
disk: every later successful sync persists the file at its full size with those ranges as
the disk had them (old bytes where the file was overwritten in place, zeros past its old
end: a hole). Only a write to such a range, or a truncate below it, makes it ordinary again.

Control file `MOUNTPOINT/.powerfs` (write one command per write):
  cut                 power cut: write the durable state to STATE_FILE and unmount (kill
                      every process using the mount first); start again on STATE_FILE to
                      "boot" with what survived
  cut torn SEED       the same, but data appended after a file's last fsync may partly
                      survive, as after a partial writeback: a random prefix of it, or as
                      many NUL bytes (the size reached the disk, the data did not)
  fail-fsync N        the next N file fsyncs fail with EIO (what they would have made durable
                      is lost, as above)
  fail-fsync-path S N the next N fsyncs of a file whose path contains S fail with EIO
  fail-dirsync N      the next N directory fsyncs fail with EIO
  fail-rate P SEED    from now on each fsync (file or directory) fails with probability P
Reading it gives counters as JSON.

An open file that is unlinked stays readable through its descriptor (libfuse keeps it
under a hidden name until it is closed), so its link count does not drop to zero here.

Not modelled: partial sector writes inside one fsynced range (a cut keeps or drops whole
fsync units), reordering of durable state between two fsyncs of different files (each
file's last fsync is what survives), metadata such as mtime and mode changes (kept as they
are), xattrs, hard disk caches that lie about flushes.
"""
import errno
import json
import os
import pickle
import random
import stat
import sys
import threading
import time

import mfusepy as fuse

CONTROL = "/.powerfs"


class Node:
    def __init__(self, mode):
        self.mode = mode
        self.ino = 0
        self.nlink = 0
        self.mtime = time.time_ns()
        self.data = bytearray()  # files: what processes see
        self.durable = b""  # files: what survives a cut
        self.entries = {}  # directories: name -> Node, as processes see them
        self.durable_entries = {}  # directories: what survives a cut
        self.dirty = []  # files: [start, end) ranges written since the last successful sync
        self.lost = []  # files: ranges whose write-back failed (see the module's docstring)

    @property
    def is_dir(self):
        return stat.S_ISDIR(self.mode)


class PowerFS(fuse.Operations):
    use_ns = True

    def __init__(self, state_file):
        self.mutex = threading.RLock()
        self.state_file = state_file
        self.next_ino = 1
        self.handles = {}
        self.next_fh = 1
        self.counters = {"fsync": 0, "fsyncdir": 0, "failedFsync": 0, "failedDirsync": 0, "cuts": 0}
        self.fail_fsync = 0
        self.fail_dirsync = 0
        self.fail_rate = 0.0
        self.fail_path = (None, 0)
        self.random = random.Random(0)
        if os.path.exists(state_file):
            with open(state_file, "rb") as f:
                self.root = self._revive(pickle.load(f))
        else:
            self.root = self._new(stat.S_IFDIR | 0o755)
            self.root.nlink = 2

    # -- the model ---------------------------------------------------------------------

    def _new(self, mode):
        n = Node(mode)
        n.ino = self.next_ino
        self.next_ino += 1
        return n

    def _revive(self, tree):
        """Builds nodes from a durable snapshot (shared files keep one node)."""
        made = {}

        def build(key):
            if key in made:
                made[key].nlink += 1
                return made[key]
            mode, payload = tree["nodes"][key]
            n = self._new(mode)
            made[key] = n
            n.nlink = 2 if stat.S_ISDIR(mode) else 1
            if stat.S_ISDIR(mode):
                for name, child in payload.items():
                    n.entries[name] = build(child)
                n.durable_entries = dict(n.entries)
            else:
                n.data = bytearray(payload)
                n.durable = bytes(payload)
            return n

        root = build(tree["root"])
        return root

    def _snapshot(self, torn=None):
        """The durable state: reachable from the root through durable entries only. With
        `torn` (a random source), appended but unsynced bytes partly survive."""
        nodes, seen = {}, {}

        def survived(n):
            extra = bytes(n.data[len(n.durable):]) if n.data[:len(n.durable)] == n.durable else b""
            if torn is None or not extra or torn.random() < 0.5:
                return n.durable
            kept = extra[:torn.randrange(1, len(extra) + 1)]
            return n.durable + (b"\0" * len(kept) if torn.random() < 0.3 else kept)

        def visit(n):
            if id(n) in seen:
                return seen[id(n)]
            key = len(seen)
            seen[id(n)] = key
            if n.is_dir:
                nodes[key] = (n.mode, {name: visit(c) for name, c in n.durable_entries.items()})
            else:
                nodes[key] = (n.mode, survived(n))
            return key

        return {"root": visit(self.root), "nodes": nodes}

    def _lookup(self, path):
        n = self.root
        for part in [p for p in path.split("/") if p]:
            if not n.is_dir or part not in n.entries:
                raise fuse.FuseOSError(errno.ENOENT)
            n = n.entries[part]
        return n

    def _parent(self, path):
        head, name = os.path.split(path.rstrip("/"))
        parent = self._lookup(head or "/")
        if not parent.is_dir:
            raise fuse.FuseOSError(errno.ENOTDIR)
        return parent, name

    def _node(self, path, fh):
        if fh:
            return self.handles[fh]
        return self._lookup(path)

    def _should_fail(self, kind, path):
        if kind == "file" and self.fail_path[1] > 0 and path and self.fail_path[0] in path:
            self.fail_path = (self.fail_path[0], self.fail_path[1] - 1)
            return True
        if kind == "file" and self.fail_fsync > 0:
            self.fail_fsync -= 1
            return True
        if kind == "dir" and self.fail_dirsync > 0:
            self.fail_dirsync -= 1
            return True
        return self.fail_rate > 0 and self.random.random() < self.fail_rate

    def _control(self, text):
        words = text.split()
        if not words:
            return
        if words[0] == "cut":
            self.counters["cuts"] += 1
            torn = random.Random(int(words[2]) if len(words) > 2 else 0) if len(words) > 1 and words[1] == "torn" else None
            tmp = self.state_file + ".tmp"
            with open(tmp, "wb") as f:
                pickle.dump(self._snapshot(torn), f)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self.state_file)
            fuse.fuse_exit()
        elif words[0] == "fail-fsync":
            self.fail_fsync = int(words[1])
        elif words[0] == "fail-fsync-path":
            self.fail_path = (words[1], int(words[2]))
        elif words[0] == "fail-dirsync":
            self.fail_dirsync = int(words[1])
        elif words[0] == "fail-rate":
            self.fail_rate = float(words[1])
            self.random = random.Random(int(words[2]) if len(words) > 2 else 0)
        else:
            raise fuse.FuseOSError(errno.EINVAL)

    # -- FUSE operations ---------------------------------------------------------------

    def getattr(self, path, fh=None):
        with self.mutex:
            if path == CONTROL:
                return {"st_mode": stat.S_IFREG | 0o600, "st_nlink": 1, "st_size": 0}
            n = self._node(path, fh)
            t = n.mtime
            return {
                "st_mode": n.mode, "st_ino": n.ino, "st_nlink": n.nlink, "st_size": len(n.data) if not n.is_dir else 4096,
                "st_uid": 0, "st_gid": 0, "st_atime": t, "st_mtime": t, "st_ctime": t, "st_blocks": (len(n.data) + 511) // 512,
            }

    def readdir(self, path, fh):
        with self.mutex:
            n = self._lookup(path)
            # With use_ino, an entry without an inode number is hidden by readdir(3).
            own = [(".", {"st_mode": n.mode, "st_ino": n.ino}, 0), ("..", {"st_mode": stat.S_IFDIR, "st_ino": 1}, 0)]
            return own + [(name, {"st_mode": c.mode, "st_ino": c.ino}, 0) for name, c in n.entries.items()]

    def statfs(self, path):
        return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": 1 << 24, "f_bfree": 1 << 23, "f_bavail": 1 << 23,
                "f_files": 1 << 20, "f_ffree": 1 << 19, "f_namemax": 255}

    def mkdir(self, path, mode):
        with self.mutex:
            parent, name = self._parent(path)
            if name in parent.entries:
                raise fuse.FuseOSError(errno.EEXIST)
            n = self._new(stat.S_IFDIR | (mode & 0o7777))
            n.nlink = 2
            parent.entries[name] = n
            parent.nlink += 1

    def rmdir(self, path):
        with self.mutex:
            parent, name = self._parent(path)
            n = parent.entries.get(name)
            if n is None:
                raise fuse.FuseOSError(errno.ENOENT)
            if n.entries:
                raise fuse.FuseOSError(errno.ENOTEMPTY)
            del parent.entries[name]
            parent.nlink -= 1

    def create(self, path, mode, fi=None):
        with self.mutex:
            parent, name = self._parent(path)
            n = parent.entries.get(name)
            if n is None:
                n = self._new(stat.S_IFREG | (mode & 0o7777))
                n.nlink = 1
                parent.entries[name] = n
            return self._open_handle(n)

    def _open_handle(self, n):
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = n
        return fh

    def open(self, path, flags):
        with self.mutex:
            if path == CONTROL:
                return 0
            n = self._lookup(path)
            if flags & os.O_TRUNC:
                _resize(n, 0)
            return self._open_handle(n)

    def opendir(self, path):
        with self.mutex:
            return self._open_handle(self._lookup(path))

    def release(self, path, fh):
        with self.mutex:
            self.handles.pop(fh, None)

    def releasedir(self, path, fh):
        self.release(path, fh)

    def read(self, path, size, offset, fh):
        with self.mutex:
            if path == CONTROL:
                return json.dumps(self.counters).encode()[offset:offset + size]
            return bytes(self._node(path, fh).data[offset:offset + size])

    def write(self, path, data, offset, fh):
        with self.mutex:
            if path == CONTROL:
                self._control(data.decode())
                return len(data)
            n = self._node(path, fh)
            if offset > len(n.data):
                n.data.extend(b"\0" * (offset - len(n.data)))
            n.data[offset:offset + len(data)] = data
            n.mtime = time.time_ns()
            n.lost = _without(n.lost, offset, offset + len(data))
            n.dirty.append((offset, offset + len(data)))
            return len(data)

    def truncate(self, path, length, fh=None):
        with self.mutex:
            if path == CONTROL:
                return
            n = self._node(path, fh)
            _resize(n, length)

    def _sync(self, kind, path, fh):
        """fsync of a file (its data becomes durable) or a directory (its entries do)."""
        with self.mutex:
            self.counters["fsync" if kind == "file" else "fsyncdir"] += 1
            n = self._node(path, fh)
            if self._should_fail(kind, path):
                self.counters["failedFsync" if kind == "file" else "failedDirsync"] += 1
                if kind == "file":
                    # The pages are marked clean: their bytes will never be written back.
                    n.lost += n.dirty
                    n.dirty = []
                raise fuse.FuseOSError(errno.EIO)
            if kind == "file":
                image = bytearray(n.data)
                for start, end in n.lost:
                    end = min(end, len(image))
                    if start < end:
                        old = n.durable[start:end]
                        image[start:end] = old + b"\0" * (end - start - len(old))
                n.durable = bytes(image)
                # The lost ranges stay lost: their pages are clean, no later sync writes them.
                n.dirty = []
            else:
                n.durable_entries = dict(n.entries)

    def fsync(self, path, datasync, fh):
        self._sync("file", path, fh)

    def fsyncdir(self, path, datasync, fh):
        self._sync("dir", path, fh)

    def flush(self, path, fh):
        return 0

    def unlink(self, path):
        with self.mutex:
            parent, name = self._parent(path)
            n = parent.entries.pop(name, None)
            if n is None:
                raise fuse.FuseOSError(errno.ENOENT)
            n.nlink -= 1

    def rename(self, old, new, flags=0):
        with self.mutex:
            op, oname = self._parent(old)
            np_, nname = self._parent(new)
            n = op.entries.get(oname)
            if n is None:
                raise fuse.FuseOSError(errno.ENOENT)
            replaced = np_.entries.get(nname)
            if replaced is n:
                return
            if replaced is not None:
                if replaced.is_dir and replaced.entries:
                    raise fuse.FuseOSError(errno.ENOTEMPTY)
                replaced.nlink -= 1
            del op.entries[oname]
            np_.entries[nname] = n

    def link(self, target, source):
        with self.mutex:
            n = self._lookup(source)
            parent, name = self._parent(target)
            if name in parent.entries:
                raise fuse.FuseOSError(errno.EEXIST)
            parent.entries[name] = n
            n.nlink += 1

    def chmod(self, path, mode, fh=None):
        with self.mutex:
            n = self._node(path, fh)
            n.mode = (n.mode & ~0o7777) | (mode & 0o7777)

    def chown(self, path, uid, gid, fh=None):
        return 0

    def utimens(self, path, times=None, fh=None):
        return 0

    def access(self, path, amode):
        with self.mutex:
            if path != CONTROL:
                self._lookup(path)
            return 0


def _without(ranges, start, end):
    """`ranges` less [start, end)."""
    out = []
    for a, b in ranges:
        if b <= start or a >= end:
            out.append((a, b))
            continue
        if a < start:
            out.append((a, start))
        if b > end:
            out.append((end, b))
    return out


def _resize(n, length):
    """truncate(2) and O_TRUNC: the bytes past `length` go, those grown are written zeros."""
    if length < len(n.data):
        del n.data[length:]
        n.lost = _without(n.lost, length, 1 << 62)
        n.dirty = [(a, min(b, length)) for a, b in n.dirty if a < length]
    else:
        n.dirty.append((len(n.data), length))
        n.data.extend(b"\0" * (length - len(n.data)))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mountpoint, state_file = sys.argv[1], os.path.abspath(sys.argv[2])
    fuse.FUSE(PowerFS(state_file), mountpoint, foreground=True, nothreads=True, direct_io=True,
              attr_timeout=0, entry_timeout=0, negative_timeout=0, use_ino=True, default_permissions=True)


if __name__ == "__main__":
    main()
