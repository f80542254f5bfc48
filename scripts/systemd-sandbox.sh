#!/usr/bin/env bash
# Boots a real systemd as PID 1 in its own namespaces, on a throw-away overlay of this
# machine's root, so the service can be installed and run exactly as on a server without
# touching the host. Root only.
#
#   scripts/systemd-sandbox.sh boot STATE-DIR [DIR...]   boot; returns once systemd is up (pid in
#                                                         STATE-DIR/pid); each DIR is seen inside at
#                                                         its own path, as an overlay (writes stay inside)
#   scripts/systemd-sandbox.sh run STATE-DIR CMD...   run a command inside (as root, a login-less shell)
#   scripts/systemd-sandbox.sh halt STATE-DIR   end it (kills its PID 1: everything inside goes)
#
# STATE-DIR is bind-mounted at the same path inside, so files can be passed both ways.
# Writes inside land on a tmpfs and vanish with the sandbox; it has a network namespace of
# its own (loopback only), so nothing inside can touch the host's interfaces or ports. Host services that are enabled
# here (postgresql, nginx, ...) are not started inside: only what the caller enables runs.
# Exit status 77 from boot: this machine refuses the namespaces or the overlay (say why).
set -euo pipefail

cmd=${1:?usage: systemd-sandbox.sh boot|run|halt STATE-DIR [CMD...]}
state=${2:?usage: systemd-sandbox.sh boot|run|halt STATE-DIR [CMD...]}
shift 2

# Inside the new mount namespace: build the root, pivot into it, exec systemd.
inner() {
    mount --make-rprivate /
    local t=$state/mnt
    mkdir -p "$t"
    mount -t tmpfs -o mode=0755 sandbox "$t"
    mkdir "$t/upper" "$t/work" "$t/root"
    if ! mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$t/root"; then
        echo "overlay mount refused" > "$state/refused"
        exit 77
    fi
    local r=$t/root
    mount --rbind /dev "$r/dev"
    mount --rbind /sys "$r/sys"
    # The host's cgroup mounts show the host's whole tree; a fresh cgroup2 mount made in
    # this cgroup namespace shows only ours, so the systemd inside manages a subtree.
    umount -R "$r/sys/fs/cgroup"
    mount -t cgroup2 -o nsdelegate cgroup2 "$r/sys/fs/cgroup"
    mount -t proc proc "$r/proc"
    mount -t tmpfs -o mode=0755 tmpfs "$r/run"
    mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
    mkdir -p "$r$state"
    mount --bind "$state" "$r$state"
    # Folders the caller needs inside (the project, wherever its clone is: under /tmp it
    # would be hidden by the fresh /tmp), each on an overlay of its own.
    local i=0
    while IFS= read -r dir; do
        [ -n "$dir" ] || continue
        i=$((i + 1))
        mkdir -p "$t/up-$i" "$t/wk-$i" "$r$dir"
        mount -t overlay overlay -o "lowerdir=$dir,upperdir=$t/up-$i,workdir=$t/wk-$i" "$r$dir"
    done < "$state/overlays"
    # Start clean: nothing the host enabled starts inside, no earlier install of ours.
    find "$r/etc/systemd/system" -mindepth 2 -maxdepth 2 -path '*.wants/*' \
        ! -path '*/getty.target.wants/*' -delete 2>/dev/null || true
    rm -rf "$r/usr/local/bin/spp-hookd" "$r/usr/local/lib/systemd/system/spp-hookd".* \
        "$r/etc/spp-hookd" "$r/var/lib/spp-hookd" "$r/var/lib/private/spp-hookd" \
        "$r/etc/systemd/system/spp-hookd".*
    mkdir -p "$r/oldroot"
    cd "$r"
    pivot_root . oldroot
    umount -l /oldroot
    rmdir /oldroot
    # Without shared propagation, LoadCredential= fails silently.
    mount --make-rshared /
    exec env -i container=other PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        /lib/systemd/systemd --system --unit=multi-user.target
}

pid_of_init() { cat "$state/pid"; }

case $cmd in
inner)
    inner
    ;;
boot)
    [ "$(id -u)" = 0 ] || { echo "systemd-sandbox: needs root" >&2; exit 77; }
    state=$(realpath "$state")
    mkdir -p "$state"
    rm -f "$state/pid" "$state/refused"
    for dir in "$@"; do realpath "$dir"; done > "$state/overlays"
    # A cgroup of our own, so the booted systemd's cgroup root is not the machine's.
    cg=spp-sandbox-$$
    for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
        if [ -e "$h/cgroup.procs" ]; then
            mkdir -p "$h/$cg" && echo $$ > "$h/$cg/cgroup.procs" || true
        fi
    done
    echo "$cg" > "$state/cgroup"
    (
        # The caller's descriptors stay with the caller: a parent that learns of our exit
        # through one (Foundation's Process does) must not wait for the sandbox too.
        for fd in /proc/$BASHPID/fd/*; do
            n=${fd##*/}
            if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi
        done 2>/dev/null
        exec setsid unshare --fork --pid --mount --uts --ipc --net --cgroup --mount-proc \
            bash "$0" inner "$state" > "$state/console.log" 2>&1 < /dev/null
    ) &
    unshare_pid=$!
    # The systemd inside is the child of unshare (its PID 1).
    for _ in $(seq 1 200); do
        child=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null | awk '{print $1}')
        if [ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" = systemd ]; then
            echo "$child" > "$state/pid"
            break
        fi
        if ! kill -0 "$unshare_pid" 2>/dev/null; then
            wait "$unshare_pid" || rc=$?
            if [ -e "$state/refused" ] || [ "${rc:-0}" = 77 ]; then
                echo "systemd-sandbox: $(cat "$state/refused" 2>/dev/null || echo refused): see $state/console.log" >&2
                exit 77
            fi
            echo "systemd-sandbox: unshare exited ($rc); console:" >&2
            cat "$state/console.log" >&2
            exit 77
        fi
        sleep 0.05
    done
    [ -s "$state/pid" ] || { echo "systemd-sandbox: systemd did not start" >&2; cat "$state/console.log" >&2; exit 1; }
    # Wait until the boot has finished (running, or degraded when a unit failed).
    for _ in $(seq 1 600); do
        s=$(nsenter -t "$(pid_of_init)" -a systemctl is-system-running 2>/dev/null || true)
        case $s in
        running|degraded) echo "systemd-sandbox: $s (pid $(pid_of_init))"; exit 0 ;;
        esac
        sleep 0.1
    done
    echo "systemd-sandbox: boot did not finish: $s" >&2
    nsenter -t "$(pid_of_init)" -a systemctl list-jobs >&2 || true
    exit 1
    ;;
run)
    exec nsenter -t "$(pid_of_init)" -a env -i PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        HOME=/root LANG=C.UTF-8 TERM=dumb "$@"
    ;;
halt)
    if [ -s "$state/pid" ]; then
        p=$(pid_of_init)
        kill -KILL "$p" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        rm -f "$state/pid"
    fi
    if [ -s "$state/cgroup" ]; then
        cg=$(cat "$state/cgroup")
        for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
            [ -d "$h/$cg" ] || continue
            # Child cgroups the booted systemd made, deepest first, once their processes
            # (killed with PID 1) are gone.
            for _ in $(seq 1 100); do
                find "$h/$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
                [ -d "$h/$cg" ] || break
                sleep 0.05
            done
        done
    fi
    ;;
*)
    echo "usage: systemd-sandbox.sh boot|run|halt STATE-DIR [CMD...]" >&2
    exit 2
    ;;
esac
