#!/bin/bash
# The chroot steps of `cargo xtask testbed build`: a Debian 12 root filesystem with the Debian
# kernel, OpenZFS 2.3 (zfs-dkms from bookworm-backports, built here for the guest kernel), LXC,
# NFS, Samba, nginx, AppArmor and sshd, turned into one compressed qcow2 plus the kernel and initrd
# to boot it with. xtask (xtask/src/testbed/build.rs) installs the host tools, computes the cache
# key and packs OUT into the cache; this script is kept in shell because it is a straight list of
# chroot commands with mounts to undo on exit, which shell says more simply than Rust.
#
# Environment (all required): WORK (scratch directory, emptied), OUT (output directory),
# MIRROR and SECMIRROR (Debian archive URLs), CACHE (reusable .deb caches).
# Output: OUT/base.qcow2, OUT/vmlinuz, OUT/initrd.img, OUT/versions.txt. Runs as root.
set -euo pipefail
: "${WORK:?}" "${OUT:?}" "${MIRROR:?}" "${SECMIRROR:?}" "${CACHE:?}"
R=$WORK/rootfs
IMG_SIZE=4G
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
started=$(date +%s)
stamp() { echo "testbed build: [+$(( $(date +%s) - started ))s] $*" >&2; }
undo_mounts() {
  for m in "$R/var/cache/apt/archives" "$R/dev/pts" "$R/dev" "$R/sys" "$R/proc"; do
    if mountpoint -q "$m" 2>/dev/null; then umount "$m" || umount -l "$m" || true; fi
  done
}
trap undo_mounts EXIT
mkdir -p "$CACHE/debootstrap" "$CACHE/apt-archives" "$OUT" "$WORK"
undo_mounts
rm -rf "$R"

stamp "debootstrap bookworm"
debootstrap --arch=amd64 --components=main,contrib --cache-dir="$CACHE/debootstrap" \
  --include=ca-certificates,dbus,systemd-sysv,udev,kmod,iproute2,openssh-server,procps,less,xz-utils,zstd \
  bookworm "$R" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 || { tail -30 "$WORK/debootstrap.log"; exit 1; }

cat > "$R/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main contrib
deb $MIRROR bookworm-updates main contrib
deb $MIRROR bookworm-backports main contrib
deb $SECMIRROR bookworm-security main contrib
EOF
# No daemon starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
chmod +x "$R/usr/sbin/policy-rc.d"
mount -t proc proc "$R/proc"
mount -t sysfs sys "$R/sys"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts"
mount --bind "$CACHE/apt-archives" "$R/var/cache/apt/archives"
in_chroot() { chroot "$R" "$@"; }
apt_in() { in_chroot apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends "$@"; }
logged() { local log=$1; shift; "$@" > "$WORK/$log.log" 2>&1 || { tail -40 "$WORK/$log.log"; exit 1; }; }

stamp "kernel"
in_chroot apt-get -qq update
logged kernel apt_in install linux-image-cloud-amd64 linux-headers-cloud-amd64
kver=$(ls "$R/lib/modules" | sort -V | tail -1)

# zfs-dkms builds for the newest kernel under /lib/modules that has headers: the guest's, not the
# host's. The whole ZFS set comes from backports (the libraries must match zfsutils exactly).
stamp "OpenZFS 2.3 for $kver (the dkms build takes a few minutes)"
logged zfs apt_in install -t bookworm-backports \
  zfs-dkms zfsutils-linux libnvpair3linux libuutil3linux libzfs6linux libzpool6linux
if ! ls "$R/lib/modules/$kver/updates/dkms/"zfs.ko* > /dev/null 2>&1; then
  logged zfs-autoinstall in_chroot dkms autoinstall -k "$kver"
fi
zko=$(ls "$R/lib/modules/$kver/updates/dkms/"zfs.ko* | head -1)
zfs_module=$(in_chroot modinfo -F version "${zko#"$R"}")
case $zfs_module in
  2.3.*) ;;
  *) echo "testbed build: zfs.ko is $zfs_module, expected 2.3.x" >&2; exit 1 ;;
esac

stamp "lxc, nfs, samba, nginx, apparmor, sudo"
logged services apt_in install \
  lxc lxcfs libpam-cgfs uidmap iptables dnsmasq-base bridge-utils \
  nfs-kernel-server samba smbclient nginx apparmor apparmor-utils sudo

stamp "configure the guest"
echo testbed > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\ttestbed\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
# The root filesystem is a labelled whole-disk ext4: virtio device names follow PCI order, labels do not.
printf 'LABEL=testbed-root\t/\text4\tdefaults,errors=remount-ro\t0\t1\n' > "$R/etc/fstab"
mkdir -p "$R/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' > "$R/etc/systemd/network/10-dhcp.network"
echo zfs > "$R/etc/modules-load.d/zfs.conf"
# sshd: keys only, one ed25519 host key made on first boot, and room for Phoenix's parallel
# commands on one multiplexed connection.
rm -f "$R"/etc/ssh/ssh_host_*
cat > "$R/etc/ssh/sshd_config.d/phoenix-testbed.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxSessions 32
UseDNS no
EOF
# First boot: make the host key, install the client key passed on the kernel command line
# (phoenix.ssh_key=TYPE:BASE64, generated per testbed by `xtask testbed up`), and print the host
# key on the serial console, where `up` reads it for known_hosts.
cat > "$R/usr/local/sbin/phoenix-testbed-keys" <<'EOF'
#!/bin/sh
set -eu
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
key=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^phoenix\.ssh_key=//p' | tr ':' ' ')
install -d -m 700 /root/.ssh
printf '%s\n' "$key" > /root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
echo "phoenix-testbed-hostkey: $(cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)" > /dev/ttyS0
EOF
chmod 755 "$R/usr/local/sbin/phoenix-testbed-keys"
cat > "$R/etc/systemd/system/phoenix-testbed-keys.service" <<'EOF'
[Unit]
Description=Phoenix testbed: SSH host key and the testbed's client key
Before=ssh.service
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/phoenix-testbed-keys

[Install]
WantedBy=multi-user.target
EOF
in_chroot systemctl enable systemd-networkd ssh phoenix-testbed-keys > /dev/null 2>&1
in_chroot systemctl mask systemd-networkd-wait-online.service apt-daily.timer \
  apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer > /dev/null 2>&1
{
  echo "kernel $kver"
  echo "zfs.ko $zfs_module"
  in_chroot dpkg-query -W -f='${Package} ${Version}\n' \
    zfsutils-linux zfs-dkms lxc nfs-kernel-server samba nginx apparmor openssh-server util-linux
} > "$OUT/versions.txt"

stamp "image"
undo_mounts
rm -f "$R/usr/sbin/policy-rc.d"
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin
cp "$R/boot/vmlinuz-$kver" "$OUT/vmlinuz"
cp "$R/boot/initrd.img-$kver" "$OUT/initrd.img"
rm -f "$WORK/root.raw" "$OUT/base.qcow2"
truncate -s "$IMG_SIZE" "$WORK/root.raw"
mkfs.ext4 -q -F -L testbed-root -d "$R" "$WORK/root.raw"
qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd "$WORK/root.raw" "$OUT/base.qcow2"
rm -rf "$WORK/root.raw" "$R"
stamp "done"
