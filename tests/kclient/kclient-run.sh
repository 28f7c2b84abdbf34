#!/bin/bash
# Boots Debian's kernel (from /boot) under qemu software emulation (TCG) with
# a small busybox initramfs and runs GUEST_SCRIPT inside it as /test.sh.
# The guest is a real Linux NFS client: it reaches the host's 127.0.0.1 as
# $SERVER (10.0.2.2) through qemu's user-mode network, so no packet leaves
# the qemu process.
#
# usage: kclient-run.sh GUEST_SCRIPT [DISK_IMAGE]
# env:
#   NFS_PORT    server port on the host, exported to the guest (default 2049)
#   KC_ENV      extra "NAME=value" words exported to the guest (no spaces
#               inside a value), e.g. KC_ENV="VERS=4.2"
#   KC_EXTRA    host files copied into the guest's /extra/ (space-separated)
#   KC_CACHE    directory holding the base initramfs (required: the build dir,
#               e.g. build/kclient-cache; it is keyed by kernel version and by
#               this script's contents)
#   KC_TIMEOUT  seconds before qemu is killed (default 600)
#   KC_MEM      guest RAM in MiB (default 1024)
#   KC_SMP      guest CPUs (default 1)
#   KC_KVER     kernel version under /boot (default: the newest)
#   KC_CONSOLE  if set, the full raw console is also written to this file
# The guest's console from the start of the script on is printed as it runs
# (all of it if the guest never reaches the script). Exit status: the guest
# script's (parsed from the KC_EXIT= marker), 124 on timeout, 125 when the
# harness itself fails.
# Needs: qemu-system-x86 busybox-static linux-image-amd64 xfsprogs cpio kmod
set -u
script=${1:?usage: kclient-run.sh GUEST_SCRIPT [DISK_IMAGE]}
disk=${2:-}
port=${NFS_PORT:-2049}
tmo=${KC_TIMEOUT:-600}
mem=${KC_MEM:-1024}
smp=${KC_SMP:-1}
cache=${KC_CACHE:?set KC_CACHE to a directory under the build dir}

die() { echo "kclient: $*" >&2; exit 125; }

kver=${KC_KVER:-$(ls /boot | sed -n 's/^vmlinuz-//p' | sort -V | tail -1)}
[ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ] || die "no readable kernel in /boot (apt-get install linux-image-amd64)"
[ -d "/lib/modules/$kver" ] || die "no /lib/modules/$kver"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
[ -x /bin/busybox ] || die "/bin/busybox missing (apt-get install busybox-static)"
command -v cpio >/dev/null || die "cpio missing"
# modprobe lives in /sbin, which a non-root PATH may lack.
modprobe=$(PATH=$PATH:/sbin:/usr/sbin command -v modprobe) || die "modprobe missing (apt-get install kmod)"

# Modules the guest loads at boot; the pNFS layout drivers are optional.
modules="virtio_pci virtio_net virtio_blk nfsv3 nfsv4"
optional_modules="nfs_layout_nfsv41_files nfs_layout_flexfiles blocklayoutdriver"
# Host binaries copied with their shared libraries: xfs_io (xfsprogs) is
# required, the scenario's space step runs it; blkmapd is optional.
guest_bins="/usr/sbin/xfs_io /usr/sbin/blkmapd"
[ -x /usr/sbin/xfs_io ] || die "/usr/sbin/xfs_io missing (apt-get install xfsprogs)"

build_base() {  # $1 = output cpio
  local r
  r=$(mktemp -d "$cache/root.XXXXXX") || return 1
  mkdir -p "$r"/{bin,sbin,usr/sbin,usr/bin,proc,sys,dev,mnt,tmp,run,root,etc,extra} \
           "$r/var/lib/nfs/rpc_pipefs" "$r/lib/modules/$kver"
  cp /bin/busybox "$r/bin/" || return 1
  local mod m
  for mod in $modules $optional_modules; do
    "$modprobe" -S "$kver" --show-depends "$mod" >/dev/null 2>&1 || {
      case " $modules " in *" $mod "*) echo "kclient: module $mod not found" >&2; return 1;; esac
      continue; }
    for m in $("$modprobe" -S "$kver" --show-depends "$mod" | awk '/^insmod/{print $2}'); do
      mkdir -p "$r$(dirname "$m")"; cp -n "$m" "$r$m" || return 1
    done
  done
  cp /lib/modules/"$kver"/modules.* "$r/lib/modules/$kver/"
  local b l
  for b in $guest_bins; do
    [ -x "$b" ] || continue
    cp "$b" "$r/usr/sbin/"
    for l in $(ldd "$b" | grep -o '/[^ ]*'); do
      mkdir -p "$r$(dirname "$l")"; cp -nL "$l" "$r$l"
    done
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
  echo 'root:x:0:' > "$r/etc/group"
  cat > "$r/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs -o size=90% tmp /tmp
for m in $modules $optional_modules; do modprobe \$m 2>/dev/null; done
ip link set lo up; ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs 2>/dev/null && [ -x /usr/sbin/blkmapd ] && /usr/sbin/blkmapd 2>/dev/null
. /env.sh
export PATH=/extra:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
cd /root
echo "KC_BEGIN"
sh /test.sh; rc=\$?
echo "KC_EXIT=\$rc"
sync; poweroff -f
INIT
  chmod +x "$r/init"
  (cd "$r" && find . | cpio -o -H newc 2>/dev/null) > "$1.tmp.$$" || { rm -rf "$r"; return 1; }
  rm -rf "$r"
  mv "$1.tmp.$$" "$1"  # atomic: concurrent runs never see a partial archive
  # Bases built from older versions of this script are dead weight.
  find "$cache" -maxdepth 1 -name 'base-*.cpio' ! -name "$(basename "$1")" -delete
}

mkdir -p "$cache" || die "cannot create $cache"
key=$(sha256sum "$0" | cut -c1-12)
base="$cache/base-$kver-$key.cpio"
if [ ! -s "$base" ]; then
  build_base "$base" || die "building the base initramfs failed"
fi

w=$(mktemp -d "$cache/run.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$w"' EXIT
trap 'exit 143' TERM INT  # so the EXIT trap runs when the runner stops us
cp "$script" "$w/test.sh"
{
  echo "export NFS_PORT=$port SERVER=10.0.2.2"
  for kv in ${KC_ENV:-}; do echo "export $kv"; done
} > "$w/env.sh"
mkdir -p "$w/extra"
for f in ${KC_EXTRA:-}; do cp "$f" "$w/extra/" || die "KC_EXTRA: cannot copy $f"; done
chmod -R a+rx "$w/extra"
(cd "$w" && { printf 'test.sh\nenv.sh\nextra\n'; find extra -mindepth 1; } | cpio -o -H newc 2>/dev/null) > "$w/extra.cpio" \
  || die "packing the per-run initramfs failed"
cat "$base" "$w/extra.cpio" > "$w/initrd.cpio"

drive=()
[ -n "$disk" ] && drive=(-drive "file=$disk,format=raw,if=virtio,cache=none")
console=${KC_CONSOLE:-$w/console.log}
# Print the console live from KC_BEGIN on, without the serial line's \r.
# (The range ends at KC_EXIT, not at $, which would make sed read a line
# ahead and print every line one line late.) --foreground keeps qemu in our
# process group, so whoever stops this script's group stops qemu too.
timeout --foreground -k 10 "$tmo" qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp" \
  -nographic -no-reboot -nodefaults -serial stdio \
  -kernel "/boot/vmlinuz-$kver" -initrd "$w/initrd.cpio" \
  -append "console=ttyS0 quiet panic=-1" \
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0 "${drive[@]}" </dev/null 2>&1 \
  | tee "$console" | sed -u -n 's/\r//g; /KC_BEGIN$/,/^KC_EXIT=/{/KC_BEGIN$/d;/^KC_EXIT=/d;p}'
qrc=${PIPESTATUS[0]}
rc=$(tr -d '\r' < "$console" | sed -n 's/^KC_EXIT=\([0-9]*\).*/\1/p' | tail -1)
if ! tr -d '\r' < "$console" | grep -q 'KC_BEGIN$'; then
  echo "kclient: the guest never reached the test script; full console:"
  tr -d '\r' < "$console"
fi
[ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ] && { echo "kclient: timed out after ${tmo}s"; exit 124; }
[ -n "$rc" ] || { echo "kclient: guest produced no exit marker (qemu exit $qrc)"; exit 125; }
exit "$rc"
