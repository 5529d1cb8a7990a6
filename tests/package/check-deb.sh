#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# check-deb.sh SRCDIR: builds the Debian package from the tree with tools/build-deb.sh (no root
# needed) into a temporary directory and checks it: the files it must hold, its conffiles, the
# unit's enable/start in postinst and stop in prerm, the state removal in postrm, Depends (the
# libraries linked and the two loaded with dlopen, versioned), libnats in Recommends only (the
# fleet dlopen()s it), that the binaries it holds run,
# and lintian without errors or warnings (when lintian is installed).
set -euo pipefail
src=$1
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
	echo "SKIP: dpkg-buildpackage or debhelper is not installed (tools/install-deps.sh installs them)"
	exit 77
fi
tmp=$(mktemp -d /tmp/nftjail-check-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
deb=$("$src/tools/build-deb.sh" "$tmp/out" | tail -n 1)
fail=0
check() { # description, then a command that succeeds when the check passes
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; fail=1; fi
}
case "$(basename "$deb")" in
nftjail_*_*.deb) echo "ok: built $(basename "$deb"), $(stat -c %s "$deb") bytes" ;;
*) echo "FAIL: unexpected package name $deb" >&2; exit 1 ;;
esac
upstream=$(sed -n "s/^  version : '\\([^']*\\)',*$/\\1/p" "$src/meson.build" | head -n 1)
check "package version $(dpkg-deb -f "$deb" Version) is meson's $upstream (bump debian/changelog with it)" \
	test "$(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')" = "$upstream"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/files"
for f in /usr/sbin/nftjaild /usr/bin/nftjail /usr/share/nftjail/nftjail.nft \
	/etc/nftjail/nftjail.conf /etc/nftjail/jail.conf /etc/nftjail/filter.d/sshd.conf \
	/etc/nftjail/filter.d/common.conf /etc/nftjail/jail.d/README.conf \
	/lib/systemd/system/nftjaild.service /usr/lib/sysusers.d/nftjail.conf /usr/lib/systemd/catalog/nftjail.catalog \
	/usr/share/man/man1/nftjail.1.gz /usr/share/man/man8/nftjaild.8.gz \
	/usr/share/man/man5/nftjail.conf.5.gz /usr/share/man/man5/nftjail-jail.conf.5.gz \
	/usr/share/bash-completion/completions/nftjail /usr/share/doc/nftjail/README.md \
	/usr/share/doc/nftjail/README.Debian /usr/share/doc/nftjail/docs/PROTOCOL.md /usr/share/doc/nftjail/docs/FLEET.md \
	/usr/share/doc/nftjail/copyright; do
	check "package holds $f" grep -qx "$f" "$tmp/files"
done
check "nothing under /usr/local or /var" bash -c "! grep -E '^/(usr/local|var)/' '$tmp/files'"
dpkg-deb -e "$deb" "$tmp/ctl"
# every file under /etc is a conffile, and only those
diff <(grep '^/etc/.*[^/]$' "$tmp/files" | sort) <(sort "$tmp/ctl/conffiles") >"$tmp/conffiles.diff" || true
check "conffiles are exactly the files under /etc ($(wc -l <"$tmp/ctl/conffiles"))" test ! -s "$tmp/conffiles.diff"
check "postinst enables the unit" grep -q "deb-systemd-helper enable 'nftjaild.service'" "$tmp/ctl/postinst"
check "postinst starts (or restarts) it under systemd" grep -q "deb-systemd-invoke \$_dh_action 'nftjaild.service'" "$tmp/ctl/postinst"
check "prerm stops it on remove" grep -q "deb-systemd-invoke stop 'nftjaild.service'" "$tmp/ctl/prerm"
check "postrm purge deletes /var/lib/nftjail" grep -q 'rm -rf /var/lib/nftjail' "$tmp/ctl/postrm"
check "postrm deletes the table only with NFTJAIL_PURGE_TABLE=yes" grep -q 'NFTJAIL_PURGE_TABLE:-no}" = yes' "$tmp/ctl/postrm"
if grep -q '^/usr/lib/sysusers.d/' "$tmp/files"; then
	check "postinst runs systemd-sysusers for the shipped sysusers.d file" grep -q 'systemd-sysusers' "$tmp/ctl/postinst"
	check "postinst creates the users before it starts the unit" bash -c "[ \$(grep -n systemd-sysusers '$tmp/ctl/postinst' | head -n1 | cut -d: -f1) -lt \$(grep -n deb-systemd-invoke '$tmp/ctl/postinst' | head -n1 | cut -d: -f1) ]"
fi
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libsystemd0 libpcre2-8-0 libmnl0 libnftnl11 libjansson4 libsqlite3-0 libcurl4 libnftables1; do
	check "Depends on $lib, versioned" grep -qE "(^|, )$lib \(>= [^)]+\)" <<<"$depends"
done
check "Depends on nftables" grep -qE '(^|, )nftables($|,| )' <<<"$depends"
# libnats (and the OpenSSL it pulls in) is dlopen()ed for [fleet] only: recommended, not required
check "Depends has no libnats" bash -c "! grep -q libnats <<<'$depends'"
recommends=$(dpkg-deb -f "$deb" Recommends)
echo "Recommends: $recommends"
dpkg-deb -x "$deb" "$tmp/root"
nats_pkg=$(grep -aoE 'it is in the package [A-Za-z0-9.+-]+' "$tmp/root/usr/sbin/nftjaild" | head -n 1 | awk '{print $NF}')
check "nftjaild names the libnats package it loads ($nats_pkg)" test -n "$nats_pkg"
check "Recommends $nats_pkg, versioned" grep -qE "(^|, )${nats_pkg//./\\.} \(>= [^)]+\)" <<<"$recommends"
check "the packaged nftjaild does not link libnats, libssl or libcrypto" \
	bash -c "! readelf -d '$tmp/root/usr/sbin/nftjaild' | grep NEEDED | grep -qE 'libnats|libssl|libcrypto'"
check "the packaged nftjail runs" "$tmp/root/usr/bin/nftjail" --version
check "the packaged nftjaild runs" "$tmp/root/usr/sbin/nftjaild" --version
check "the packaged configuration loads with the packaged nftjail" \
	bash -c "'$tmp/root/usr/bin/nftjail' test-config --config-dir '$tmp/root/etc/nftjail' >/dev/null"
if command -v lintian >/dev/null; then
	lintian --fail-on error,warning "$deb" >"$tmp/lintian" 2>&1 || true
	grep -v 'running with root privileges' "$tmp/lintian" || true
	check "lintian: no errors or warnings" bash -c "! grep -qE '^[EW]: ' '$tmp/lintian'"
else
	echo "note: lintian is not installed; not run"
fi
exit $fail
