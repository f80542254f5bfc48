#!/usr/bin/env bash
# Installs a built spp-hookd: scripts/install.sh PATH-TO-BINARY
# PREFIX (default /usr/local), DESTDIR (staging root), SYSCONFDIR (default /etc),
# UNITDIR (default $PREFIX/lib/systemd/system, which systemd searches).
# MANPAGE: a generated spp-hookd.1 to install (make install generates it).
# An existing /etc/spp-hookd/config.json is never overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?usage: scripts/install.sh PATH-TO-BINARY}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
DOCDIR=$PREFIX/share/doc/spp-hookd

install -d "$DESTDIR$PREFIX/bin" "$DESTDIR$UNITDIR" "$DESTDIR$DOCDIR" "$DESTDIR$SYSCONFDIR/spp-hookd"
install -m 0755 "$BIN" "$DESTDIR$PREFIX/bin/spp-hookd"
sed "s|/usr/local/bin/spp-hookd|$PREFIX/bin/spp-hookd|; s|/etc/spp-hookd|$SYSCONFDIR/spp-hookd|g" deploy/spp-hookd.service \
    > "$DESTDIR$UNITDIR/spp-hookd.service"
install -m 0644 deploy/spp-hookd.socket "$DESTDIR$UNITDIR/spp-hookd.socket"
chmod 0644 "$DESTDIR$UNITDIR/spp-hookd.service"
if [ ! -e "$DESTDIR$SYSCONFDIR/spp-hookd/config.json" ]; then
    install -m 0644 deploy/config.json "$DESTDIR$SYSCONFDIR/spp-hookd/config.json"
else
    echo "keeping existing $DESTDIR$SYSCONFDIR/spp-hookd/config.json"
fi
install -m 0644 README.md "$DESTDIR$DOCDIR/README.md"
install -d "$DESTDIR$DOCDIR/docs"
install -m 0644 docs/*.md "$DESTDIR$DOCDIR/docs/"
install -m 0644 deploy/spp-hookd.service.d/shell-hooks.conf.example "$DESTDIR$DOCDIR/shell-hooks.conf.example"
install -m 0644 deploy/spp-hookd.logrotate "$DESTDIR$DOCDIR/spp-hookd.logrotate.example"
install -d "$DESTDIR$DOCDIR/recipes"
install -m 0644 deploy/recipes/*.json "$DESTDIR$DOCDIR/recipes/"
if [ -n "${MANPAGE:-}" ]; then
    install -d "$DESTDIR$PREFIX/share/man/man1"
    install -m 0644 "$MANPAGE" "$DESTDIR$PREFIX/share/man/man1/spp-hookd.1"
fi
echo "installed spp-hookd to $DESTDIR$PREFIX/bin, units to $DESTDIR$UNITDIR, config in $DESTDIR$SYSCONFDIR/spp-hookd"
