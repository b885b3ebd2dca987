#!/bin/bash
# A filesystem of bounded size under kind's local-path volumes, mounted at every boot of the node.
#
# kind's local-path provisioner keeps each PersistentVolume as a directory of /var/local-path-provisioner, on the
# host's disk: a "volume" with the host's free space, which the suite must not fill. This mounts an ext4 image of
# $1 bytes (sparse: it costs only what is written) from the node's own /var (kept across node restarts) at that
# directory, before kubelet starts, so a full database volume is a real, bounded fault.
set -euo pipefail
size="${1:-1073741824}"
img=/var/lib/todo-e2e/volumes.ext4
dir=/var/local-path-provisioner
mkdir -p "$(dirname "$img")" "$dir"
if mountpoint -q "$dir"; then
  exit 0
fi
if [ ! -e "$img" ]; then
  truncate -s "$size" "$img.new"
  # No blocks reserved for root: the database runs as its own user, and "full" must mean full for it.
  mkfs.ext4 -q -F -m 0 -L todo-e2e-volumes "$img.new"
  mv "$img.new" "$img"
fi
# The node's /dev is a copy of the host's taken at container start: a loop device the kernel adds later has no
# node here, so make the nodes losetup may hand out (block major 7).
for i in $(seq 0 63); do
  [ -e "/dev/loop$i" ] || mknod "/dev/loop$i" b 7 "$i"
done
# mount -o loop sets autoclear: the loop device is released when the node's mount namespace goes away.
mount -o loop "$img" "$dir"
