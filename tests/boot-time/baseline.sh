#!/bin/sh
# baseline.sh OUT CORRAL_IMAGE: a classic busybox-init initramfs for the
# same kernel as the corral image, doing the same kind of work as corral's
# system services but without containers or SELinux: mount the API
# filesystems, load the same virtio modules, mdev, syslogd + klogd, DHCP
# on eth0 (udhcpc), then print "BASELINE READY" and start a getty on
# ttyS0. (No NTP: Debian's busybox has no ntpd.) Writes OUT/vmlinuz,
# OUT/initramfs.cpio and OUT/cmdline, the layout `corral image boot` reads.
set -eu
out=$1
corral_image=$2
root="$out/root"
rm -rf "$out"
mkdir -p "$root"/bin "$root"/etc "$root"/proc "$root"/sys "$root"/dev "$root"/run "$root"/tmp \
    "$root"/var/log "$root"/lib/modules
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
ln -s bin/busybox "$root/init"
ln -s bin "$root/sbin"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3

# The modules corral's image loads, in dependency order (modprobe's view).
release=$(cpio -it <"$corral_image/initramfs.cpio" 2>/dev/null | sed -n 's|^lib/modules/\([^/]*\)/modules.dep$|\1|p')
: >"$root/etc/modules"
for m in virtio_pci virtio_net virtio_blk; do
    modprobe -S "$release" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
    cp "$ko" "$root/lib/modules/"
    echo "/lib/modules/$(basename "$ko")" >>"$root/etc/modules"
done

cat >"$root/etc/inittab" <<'TAB'
::sysinit:/etc/rcS
ttyS0::respawn:/bin/getty -n -l /etc/login 115200 ttyS0 vt100
::ctrlaltdel:/bin/poweroff
TAB
cat >"$root/etc/login" <<'LOGIN'
#!/bin/sh
exec /bin/sh -l
LOGIN
cat >"$root/etc/udhcpc.script" <<'DHCP'
#!/bin/sh
case "$1" in
bound | renew)
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
    for d in $dns; do echo "nameserver $d"; done >/run/resolv.conf
    ;;
esac
exit 0
DHCP
cat >"$root/etc/rcS" <<'RCS'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
hostname corral
while read -r ko; do insmod "$ko"; done </etc/modules
mdev -s
syslogd -O /var/log/messages
klogd
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -s /etc/udhcpc.script -q -t 20 -T 1 >/dev/null 2>&1
echo "BASELINE READY $(cut -d' ' -f1 /proc/uptime)"
RCS
chmod +x "$root/etc/login" "$root/etc/udhcpc.script" "$root/etc/rcS"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$out/initramfs.cpio"
cp "$corral_image/vmlinuz" "$out/vmlinuz"
cp "$corral_image/cmdline" "$out/cmdline"
rm -rf "$root"
