#!/bin/sh
# Builds one Python plugin with componentize-py, byte-for-byte reproducibly.
# build.rs runs it as
#
#   unshare --user --map-root-user --mount sh componentize.sh \
#       STAGE TOOL SHIM WIT SOURCE MODULE OUT
#
# in a private mount namespace, so that it can mount a fresh tmpfs on STAGE:
# there inode numbers are handed out in creation order, whatever filesystem
# the checkout is on. Inputs are copied in sorted order, the tool sees a
# fixed path, an empty environment and no host site-packages, and
# deterministic.c (LD_PRELOAD) fixes randomness, clocks and file metadata.
set -eu
stage=$1 tool=$2 shim=$3 wit=$4 source=$5 module=$6 out=$7

# The stage's device number reaches the snapshot too: wasmtime-wasi hashes a
# file's device and inode into its metadata hash, which wasi-libc hands to
# CPython as st_dev/st_ino, and rustix's raw statx calls bypass the shim.
# Anonymous device numbers (tmpfs, proc, overlay, ...) are handed out lowest
# free first across the whole machine, so the same build gave other bytes on
# a machine with another number of mounts. Stack throwaway tmpfs mounts on
# one folder (they live only in this namespace) until the next number free
# is $stage_minor, then mount the stage: it is device 0:$stage_minor on every
# machine that has fewer anonymous devices in use than that.
stage_minor=2048
pad="$stage.pad"
mkdir -p "$pad"
while :; do
  mount -t tmpfs greenroom-pad "$pad"
  minor=$(stat -c %Ld "$pad")
  [ "$minor" -lt $((stage_minor - 1)) ] || break
done
if [ "$minor" -ne $((stage_minor - 1)) ]; then
  echo "error: this machine already uses more than $stage_minor anonymous device numbers (the next free is $minor);" >&2
  echo "the reproducible Python build needs device 0:$stage_minor for its stage" >&2
  exit 1
fi
mount -t tmpfs -o size=1g greenroom-python "$stage"
minor=$(stat -c %Ld "$stage")
if [ "$minor" -ne "$stage_minor" ]; then
  echo "error: the stage got device 0:$minor, not 0:$stage_minor (another mount took it meanwhile); build again" >&2
  exit 1
fi
mkdir -p "$stage/app" "$stage/wit" "$stage/tmp" "$stage/venv/lib/site-packages"

# copy_sorted FROM TO [FIND-ARGS]: folders, then files, in byte order.
copy_sorted() {
  from=$1 to=$2
  shift 2
  (cd "$from" && find . -type d | LC_ALL=C sort) | while read -r dir; do
    mkdir -p "$to/$dir"
  done
  (cd "$from" && find . -type f "$@" | LC_ALL=C sort) | while read -r file; do
    cp "$from/$file" "$to/$file"
  done
}
copy_sorted "$wit" "$stage/wit"
copy_sorted "$source" "$stage/app" -name '*.py'

cd "$stage"
env -i PATH=/usr/bin:/bin HOME="$stage" TMPDIR="$stage/tmp" VIRTUAL_ENV="$stage/venv" \
  LD_PRELOAD="$shim" \
  "$tool" -q -d wit -w greenroom:plugin/plugin componentize -p app -o component.wasm "$module"
cp component.wasm "$out"
