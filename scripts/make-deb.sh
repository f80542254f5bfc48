#!/usr/bin/env bash
# Builds spp-hookd_<version>_<arch>.deb: scripts/make-deb.sh BINARY MANPAGE [OUTDIR]
# BINARY is a release build linked with the static Swift standard library (make deb builds
# it), so the package needs only Debian's own libraries; its Depends: come from
# dpkg-shlibdeps on that binary. Needs dpkg-dev (dpkg-shlibdeps, dpkg-deb).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?usage: scripts/make-deb.sh BINARY MANPAGE [OUTDIR]}
MANPAGE=${2:?usage: scripts/make-deb.sh BINARY MANPAGE [OUTDIR]}
OUT=${3:-.}
VERSION=$(sed -n 's/.*version: "\([0-9][0-9.]*\)".*/\1/p' Sources/spp-hookd/SPPHookd.swift | head -n1)
[ -n "$VERSION" ] || { echo "make-deb: no version in Sources/spp-hookd/SPPHookd.swift" >&2; exit 1; }
ARCH=$(dpkg --print-architecture)
if ldd "$BIN" | grep -q libswiftCore; then
    echo "make-deb: $BIN links the Swift runtime dynamically; build it with --static-swift-stdlib" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/spp-hookd
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/spp-hookd" \
    "$root/usr/share/man/man1" "$doc/examples"

install -m 0755 "$BIN" "$root/usr/bin/spp-hookd"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/spp-hookd"
sed 's|/usr/local/bin/spp-hookd|/usr/bin/spp-hookd|' deploy/spp-hookd.service > "$root/lib/systemd/system/spp-hookd.service"
install -m 0644 deploy/spp-hookd.socket "$root/lib/systemd/system/spp-hookd.socket"
chmod 0644 "$root/lib/systemd/system/spp-hookd.service"
install -m 0644 deploy/config.json "$root/etc/spp-hookd/config.json"
gzip -9n < "$MANPAGE" > "$root/usr/share/man/man1/spp-hookd.1.gz"
gzip -9n < README.md > "$doc/README.md.gz"
install -d "$doc/docs"
for page in docs/*.md; do gzip -9n < "$page" > "$doc/docs/$(basename "$page").gz"; done
install -m 0644 deploy/spp-hookd.service.d/shell-hooks.conf.example "$doc/examples/shell-hooks.conf"
install -m 0644 deploy/spp-hookd.logrotate "$doc/examples/spp-hookd.logrotate"
install -d "$doc/examples/recipes"
install -m 0644 deploy/recipes/*.json "$doc/examples/recipes/"
install -m 0644 deploy/debian/copyright "$doc/copyright"
{
    echo "spp-hookd ($VERSION) unstable; urgency=medium"
    echo
    echo "  * Release $VERSION, built from the project's source tree."
    echo
    echo " -- spp-hookd maintainers <spp-hookd@example.com>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n > "$doc/changelog.gz"
chmod -R u=rwX,go=rX "$root"

for s in postinst prerm postrm; do install -m 0755 "deploy/debian/$s" "$root/DEBIAN/$s"; done
echo /etc/spp-hookd/config.json > "$root/DEBIAN/conffiles"

# Depends: what the binary links, as dpkg-shlibdeps reads it from Debian's shlibs.
mkdir -p "$work/src/debian"
printf 'Source: spp-hookd\n\nPackage: spp-hookd\nArchitecture: any\n' > "$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/bin/spp-hookd" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "make-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@DEPENDS@|$depends|" -e "s|@SIZE@|$size|" \
    deploy/debian/control > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
    > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$OUT"
deb=$OUT/spp-hookd_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "built $deb (Depends: $depends)"
