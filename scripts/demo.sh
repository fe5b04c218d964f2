#!/bin/bash
# The main job, start to finish: install the dependencies, build, create an
# encrypted hoardfs filesystem in a local directory and mount it.
# Usage: scripts/demo.sh [MOUNTPOINT]   (default: /mnt/hoardfs; run as root)
#
# Storage, cache and the authinfo file (which holds the demo passphrase) live
# under $HOARDFS_DEMO_DIR (default /var/tmp/hoardfs-demo). Running it again
# reuses the existing filesystem.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
mountpoint="${1:-/mnt/hoardfs}"
demo="${HOARDFS_DEMO_DIR:-/var/tmp/hoardfs-demo}"
storage="$demo/storage"
cache="$demo/cache"
authfile="$demo/authinfo"
builddir="${HOARDFS_BUILD_DIR:-build}"
tools="$repo/$builddir/src/tools"

scripts/install-deps.sh
scripts/build.sh "$builddir"

mkdir -p "$storage" "$cache" "$mountpoint"
if [ ! -f "$authfile" ]; then
  (umask 077 && cat > "$authfile" <<AUTH
[demo]
storage-url = local://$storage
fs-passphrase = hoardfs-demo-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
AUTH
  )
fi
chmod 600 "$authfile"

if [ -e "$storage/hoardfs.superblock" ]; then
  echo "demo: reusing the filesystem in $storage"
else
  echo "demo: creating an encrypted filesystem in $storage"
  "$tools/mkfs.hoardfs" --authfile "$authfile" "local://$storage"
fi

if mountpoint -q "$mountpoint"; then
  echo "demo: $mountpoint is already mounted"
else
  echo "demo: mounting it at $mountpoint"
  "$tools/mount.hoardfs" --acl --authfile "$authfile" --cachedir "$cache" \
    "local://$storage" "$mountpoint"
fi

echo
"$tools/hoardfs" stat "$mountpoint"
cat <<NEXT

hoardfs is mounted at $mountpoint (storage: $storage, cache: $cache,
passphrase in $authfile). Try:

  cp -a /usr/share/doc $mountpoint/doc            # copy some files
  cp -a /usr/share/doc $mountpoint/doc-again      # ...twice: deduplicated
  rsync -aHAX --devices --specials /etc/ $mountpoint/etc/
  $tools/hoardfs stat $mountpoint                 # dedup and compression figures
  $tools/hoardfs cp $mountpoint/etc $mountpoint/etc-snapshot   # a snapshot: no data copied
  $tools/hoardfs lock $mountpoint/etc-snapshot    # now immutable, even for root
  $tools/umount.hoardfs $mountpoint               # upload everything and unmount
  rm -rf $cache                                   # even with the cache gone...
  $tools/mount.hoardfs --acl --authfile $authfile --cachedir $cache local://$storage $mountpoint
                                                  # ...everything is back
NEXT
