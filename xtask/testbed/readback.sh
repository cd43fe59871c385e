#!/bin/bash
# Runs on the testbed for `cargo xtask testbed readback`: reads `SCOPE<TAB>PROPERTY<TAB>VALUE`
# rows on stdin, sets each value on a scratch dataset of a scratch pool (a sparse file, so no
# data disk is touched), reads it back with the `zfs get` Phoenix's provider runs, and prints
# `SCOPE<TAB>PROPERTY<TAB>VALUE<TAB>EXIT<TAB>READBACK<TAB>SOURCE` per row, in input order.
# A failed set prints the error zfs printed (on one line) as READBACK and `-` as SOURCE.
# With an argument N, rows before the Nth are only read (for the pool's options), not tried.
#
# Scopes:
#   fs           zfs set P=V on a new filesystem
#   vol          zfs set P=V on a new 64M volume
#   fs-create    zfs create -o P=V (a filesystem)
#   vol-create   zfs create -V 64M -o P=V
#   enc-create   zfs create -o P=V under an encryption root whose key is loaded
#   pool-create  zpool create -o P=V (the pool the rows run on)
#   root-create  zpool create -O P=V (its root dataset)
#   pool         zpool set P=V on that pool
set -u
FROM=${1:-1}
POOL=phoenixreadback
IMAGE=/var/tmp/phoenix-readback.img

cleanup() {
  if zpool list -H "$POOL" > /dev/null 2>&1; then zpool destroy -f "$POOL"; fi
  rm -f "$IMAGE"
}

one_line() { tr '\t\n' '  ' | sed 's/ *$//'; }

mapfile -t ROWS
cleanup
truncate -s 64G "$IMAGE"

# The pool is created once, with every pool-create and root-create row as an option.
create=(zpool create)
for row in "${ROWS[@]}"; do
  IFS=$'\t' read -r scope prop value <<< "$row"
  case $scope in
    pool-create) create+=(-o "$prop=$value") ;;
    root-create) create+=(-O "$prop=$value") ;;
  esac
done
"${create[@]}" "$POOL" "$IMAGE" >&2 || { echo "readback: ${create[*]} failed" >&2; exit 1; }
printf '%s' phoenix-readback-passphrase |
  zfs create -o encryption=on -o keyformat=passphrase -o keylocation=prompt "$POOL/enc" >&2 ||
  { echo "readback: cannot create the encryption root" >&2; exit 1; }

get() { zfs get -H -p -o name,property,value,source "$1" "$2"; }
pool_get() { zpool get -H -p -o name,property,value,source "$1" "$2"; }

n=0
for row in "${ROWS[@]}"; do
  IFS=$'\t' read -r scope prop value <<< "$row"
  n=$((n + 1))
  if [ "$n" -lt "$FROM" ]; then continue; fi
  ds=$POOL/t$n
  reader=get
  err=
  code=0
  case $scope in
    fs) err=$(zfs create "$ds" 2>&1 && zfs set "$prop=$value" "$ds" 2>&1) || code=$? ;;
    vol) err=$(zfs create -V 64M "$ds" 2>&1 && zfs set "$prop=$value" "$ds" 2>&1) || code=$? ;;
    fs-create) err=$(zfs create -o "$prop=$value" "$ds" 2>&1) || code=$? ;;
    vol-create) err=$(zfs create -V 64M -o "$prop=$value" "$ds" 2>&1) || code=$? ;;
    enc-create) ds=$POOL/enc/t$n; err=$(zfs create -o "$prop=$value" "$ds" 2>&1) || code=$? ;;
    pool-create) ds=$POOL; reader=pool_get ;;
    root-create) ds=$POOL ;;
    pool) ds=$POOL; reader=pool_get; err=$(zpool set "$prop=$value" "$POOL" 2>&1) || code=$? ;;
    *) echo "readback: unknown scope $scope" >&2; cleanup; exit 1 ;;
  esac
  if [ "$code" = 0 ]; then
    IFS=$'\t' read -r _ _ readback source < <($reader "$prop" "$ds")
  else
    readback=$(printf '%s' "$err" | one_line)
    source=-
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scope" "$prop" "$value" "$code" "$readback" "$source"
  case $scope in
    fs | vol | fs-create | vol-create | enc-create)
      if zfs list -H "$ds" > /dev/null 2>&1; then zfs destroy -r "$ds"; fi ;;
  esac
done
cleanup
