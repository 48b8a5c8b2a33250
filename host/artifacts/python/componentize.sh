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

mount -t tmpfs -o size=1g greenroom-python "$stage"
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
