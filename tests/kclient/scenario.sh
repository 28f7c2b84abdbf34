#!/bin/sh
# Guest side of the kernel-client test: runs under busybox sh inside the qemu
# guest started by kclient-run.sh. Mounts the server with NFS $VERS and checks
# POSIX behaviour through the real Linux client, one "PASS: <what>" line per
# step; stops at the first failure with "FAIL: <what>: <details>" and exit 1.
#
# Needs: $SERVER, $NFS_PORT, $VERS (3, 4.0, 4.1 or 4.2), /extra/kctool,
# xfs_io.
# Requests to the host (run_kclient_test.py, HostRequestWatcher): the guest
# creates /mnt/.kc-done empty, then a request file at the export root
# (.restart-me, or .kc-insert-range etc. as a hard link to the file to
# change); the host restarts the server or runs `pnfsgw admin` on that file,
# then grows .kc-done to 1 byte (2 if it failed). See host_request.
# KC_SKIP (comma-separated step names, e.g. big,big_dir) skips steps, for
# debugging.
set -o pipefail 2>/dev/null

M=/mnt
W=$M/kc-v$VERS
RESTART_WAIT=${KC_RESTART_WAIT:-300}
T=/tmp/kc
mkdir -p $T

# Messages go to fd 9 (the console) so a step's redirection cannot swallow them.
exec 9>&1
fail() { echo "FAIL: $*" >&9; exit 1; }
# ok WHAT CMD...: runs CMD; on failure reports WHAT, the exit status and stderr.
ok() {
  what=$1; shift
  "$@" 2>$T/err || { rc=$?; fail "$what (exit $rc: $(tr '\n' ' ' < $T/err))"; }
}
# eq WHAT GOT WANT
eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
pass() { echo "PASS: $* ($(( $(date +%s) - step_t0 )) s)" >&9; }
begin() { step_t0=$(date +%s); }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
sum() { sha256sum < "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
skip() { case ",${KC_SKIP:-}," in *",$1,"*) echo "SKIP: $1"; return 0;; esac; return 1; }

# host_request NAME [FILE]: asks the host for NAME (see the header) and waits
# for its answer (KC_RESTART_WAIT seconds). With FILE, the request file is a
# hard link to FILE: the host's admin command acts on it. The request stays
# in place (answered, so the host ignores it) until host_request_end, so its
# removal cannot revalidate FILE's attributes before the caller looks.
host_request() {
  host_request_end
  : > $M/.kc-done || fail "create $M/.kc-done"
  if [ -n "${2:-}" ]; then ok "link $2 as $M/$1" ln "$2" $M/$1
  else ok "create $M/$1" touch $M/$1; fi
  echo "KC_HOST_REQUEST $1"
  n=0
  while :; do
    answer=$(wc -c < $M/.kc-done)  # an open revalidates (close-to-open)
    [ "$answer" = 0 ] || break
    n=$((n + 1)); [ $n -le $((RESTART_WAIT * 5)) ] || fail "host did not answer $1 within ${RESTART_WAIT} s"
    usleep 200000
  done
  eq "host's answer to $1 (1: done, 2: failed; see the host log)" "$answer" 1
}
host_request_end() {
  rm -f $M/.restart-me $M/.kc-insert-range $M/.kc-collapse-range $M/.kc-zero-range \
    || fail "remove host request files"
  rm -f $M/.kc-done || fail "remove $M/.kc-done"
}

step_mount() {
  begin
  [ -n "$VERS" ] || fail "VERS is not set"
  if [ "$VERS" = 3 ]; then
    # NFSv3: MOUNT on the same port; no NLM, so locks stay local (nolock).
    ok "mount -t nfs vers=3 port=$NFS_PORT" timeout 120 \
      mount -t nfs -o vers=3,proto=tcp,port=$NFS_PORT,mountport=$NFS_PORT,mountproto=tcp,nolock,addr=$SERVER $SERVER:/ $M
  else
    ok "mount -t nfs4 vers=$VERS port=$NFS_PORT" timeout 120 \
      mount -t nfs4 -o vers=$VERS,port=$NFS_PORT,addr=$SERVER,clientaddr=10.0.2.15 $SERVER:/ $M
  fi
  opts=$(awk -v m=$M '$2 == m && ($3 == "nfs4" || $3 == "nfs") {print $4}' /proc/mounts)
  case ",$opts," in *",vers=$VERS,"*) ;; *) fail "mount options show vers=$VERS: '$opts'";; esac
  ok "clean up $W from an earlier run" rm -rf $W
  ok "mkdir $W" mkdir $W
  pass "mount vers=$VERS"
}

# Writes a file of $1 random bytes through the mount, drops the caches and
# compares the readback with the local copy.
check_file_size() {
  n=$1
  ok "make $n random bytes" head -c $n /dev/urandom > $T/src
  eq "local source size" "$(size $T/src)" "$n"
  ok "cp $n-byte file to the mount" cp $T/src $W/size.$n
  drop_caches
  eq "size of $n-byte file after drop_caches" "$(size $W/size.$n)" "$n"
  eq "sha256 of $n-byte file read back" "$(sum $W/size.$n)" "$(sum $T/src)"
  ok "cmp $n-byte file" cmp $T/src $W/size.$n
  ok "rm $n-byte file" rm $W/size.$n
}

step_sizes() {
  begin
  for n in 0 1 4095 4096 4097 65536 1048583 8388609; do check_file_size $n; done
  rm -f $T/src
  pass "write/read back files of 0, 1, 4095, 4096, 4097, 64Ki, 1Mi+7, 8Mi+1 bytes"
}

# 256 MiB of deterministic data without holding it in RAM: 256 blocks of
# 1 MiB, each a 15-byte header with its index and the same random seed.
# Generating it twice is cheaper under TCG than busybox tee; md5 is about
# twice as fast as sha256 there.
gen_big() {
  i=0
  while [ $i -lt 256 ]; do printf 'block %08d\n' $i; cat $T/seed; i=$((i + 1)); done
}

step_big() {
  begin
  ok "make seed" head -c $((1048576 - 15)) /dev/urandom > $T/seed
  want=$(gen_big | md5sum | cut -d' ' -f1) || fail "checksum the generated 256 MiB"
  t0=$(date +%s)
  gen_big > $W/big || fail "write 256 MiB file"
  ok "sync after 256 MiB write" sync
  t_w=$(( $(date +%s) - t0 ))
  drop_caches
  eq "size of 256 MiB file" "$(size $W/big)" 268435456
  t0=$(date +%s)
  got=$(md5sum $W/big | cut -d' ' -f1) || fail "read back 256 MiB file"
  t_r=$(( $(date +%s) - t0 ))
  eq "md5 of 256 MiB file read back" "$got" "$want"
  ok "rm 256 MiB file" rm $W/big
  rm -f $T/seed
  pass "256 MiB streamed write ($t_w s) and read back with md5 ($t_r s), equal"
}

step_deep_tree() {
  begin
  p=$W/deep
  i=1
  while [ $i -le 30 ]; do p=$p/level$i; i=$((i + 1)); done
  ok "mkdir -p of 30 levels" mkdir -p $p
  echo bottom > $p/file || fail "write a file 30 levels deep"
  drop_caches
  eq "read the file 30 levels deep" "$(cat $p/file)" bottom
  eq "directories in the deep tree" "$(find $W/deep -type d | wc -l)" 31
  ok "rm -rf the deep tree" rm -rf $W/deep
  [ ! -e $W/deep ] || fail "deep tree still exists after rm -rf"
  pass "mkdir -p 30 levels, file at the bottom, rm -rf"
}

step_rename() {
  begin
  d=$W/ren
  ok "mkdir $d" mkdir -p $d/sub
  echo one > $d/a
  ok "rename file" mv $d/a $d/b
  [ ! -e $d/a ] || fail "rename file: old name still exists"
  eq "rename file: content under the new name" "$(cat $d/b)" one

  ok "rename file into another directory" mv $d/b $d/sub/c
  eq "moved file content" "$(cat $d/sub/c)" one

  echo source > $d/x; echo target > $d/y
  ino=$(stat -c %i $d/x)
  ok "rename file over an existing file" kctool rename $d/x $d/y
  [ ! -e $d/x ] || fail "rename over file: source still exists"
  eq "rename over file: content" "$(cat $d/y)" source
  eq "rename over file: inode is the source's" "$(stat -c %i $d/y)" "$ino"

  ok "mkdir dir to rename" mkdir $d/d1
  echo in-d1 > $d/d1/f
  ok "rename directory" kctool rename $d/d1 $d/d2
  [ ! -e $d/d1 ] || fail "rename directory: old name still exists"
  eq "renamed directory content" "$(cat $d/d2/f)" in-d1

  ok "mkdir empty target dir" mkdir $d/empty
  ok "rename directory over an empty directory" kctool rename $d/d2 $d/empty
  [ ! -e $d/d2 ] || fail "rename dir over empty dir: source still exists"
  eq "rename dir over empty dir: content" "$(cat $d/empty/f)" in-d1

  ok "mkdir non-empty dirs" mkdir -p $d/src2 $d/full
  echo keep > $d/full/k
  if kctool rename $d/src2 $d/full 2>$T/err; then fail "rename dir over non-empty dir succeeded"; fi
  grep -qiE 'not empty|exists' $T/err || fail "rename dir over non-empty dir: wrong error: $(cat $T/err)"
  eq "non-empty target untouched" "$(cat $d/full/k)" keep

  drop_caches
  eq "listing after renames" "$(ls $d | tr '\n' ' ')" "empty full src2 sub y "
  ok "rm -rf rename dir" rm -rf $d
  pass "rename file, dir, across dirs, file over file, dir over empty dir, not over non-empty dir"
}

step_unlink_open() {
  begin
  d=$W/unl
  ok "mkdir $d" mkdir $d
  printf 'still readable\n' > $d/open
  exec 3< $d/open
  ok "rm of an open file" rm $d/open
  [ ! -e $d/open ] || fail "unlinked open file still visible by name"
  drop_caches
  eq "read from the fd after unlink" "$(cat <&3)" "still readable"
  exec 3<&-
  # The client silly-renames to .nfsXXXX and removes it on the last close.
  n=0
  while ls -A $d | grep -q '^\.nfs'; do
    n=$((n + 1)); [ $n -le 20 ] || fail "silly-renamed .nfs file left after close: $(ls -A $d)"; sleep 1
  done
  eq "directory empty after close" "$(ls -A $d)" ""
  ok "rmdir $d" rmdir $d
  pass "unlink of an open file, read through the fd afterwards"
}

step_links() {
  begin
  d=$W/links
  ok "mkdir $d" mkdir $d
  echo linked > $d/orig
  ok "ln (hard link)" ln $d/orig $d/hard
  drop_caches
  eq "nlink after hard link" "$(stat -c %h $d/orig)" 2
  eq "hard link shares the inode" "$(stat -c %i $d/hard)" "$(stat -c %i $d/orig)"
  eq "content through the hard link" "$(cat $d/hard)" linked
  ok "rm original name" rm $d/orig
  eq "nlink after removing one name" "$(stat -c %h $d/hard)" 1

  ok "ln -s" ln -s hard $d/sym
  ok "ln -s dangling" ln -s /no/such/target $d/dangling
  drop_caches
  eq "readlink" "$(readlink $d/sym)" hard
  eq "readlink dangling" "$(readlink $d/dangling)" /no/such/target
  eq "lstat type of symlink" "$(stat -c %F $d/sym)" "symbolic link"
  eq "content through the symlink" "$(cat $d/sym)" linked
  ok "mkdir for dir symlink" mkdir $d/realdir
  echo x > $d/realdir/f
  ok "ln -s to a directory" ln -s realdir $d/dirlink
  eq "file through dir symlink" "$(cat $d/dirlink/f)" x
  ok "rm -rf links dir" rm -rf $d
  pass "hard links (nlink, inode), symlinks (readlink, dangling, to dirs)"
}

step_attrs() {
  begin
  d=$W/attr
  ok "mkdir $d" mkdir $d
  echo a > $d/f
  ok "chmod 640" chmod 640 $d/f
  ok "mkdir dir for chmod" mkdir $d/sticky
  ok "chmod 1777" chmod 1777 $d/sticky
  ok "chown 1234:5678" chown 1234:5678 $d/f
  ok "touch -d" touch -d "2001-02-03 04:05:06" $d/f
  drop_caches
  eq "mode after chmod" "$(stat -c %a $d/f)" 640
  eq "dir mode after chmod" "$(stat -c %a $d/sticky)" 1777
  eq "owner after chown" "$(stat -c '%u:%g' $d/f)" 1234:5678
  want=$(TZ=UTC date -d "2001-02-03 04:05:06" +%s)
  eq "mtime after touch -d" "$(stat -c %Y $d/f)" "$want"
  eq "atime after touch -d" "$(stat -c %X $d/f)" "$want"
  ok "chown back to 0:0" chown 0:0 $d/f
  eq "owner after chown back" "$(stat -c '%u:%g' $d/f)" 0:0
  before=$(stat -c %Y $d/f)
  echo more >> $d/f
  after=$(stat -c %Y $d/f)
  [ "$after" -gt "$before" ] || fail "write did not advance mtime ($before -> $after)"
  ok "rm -rf attr dir" rm -rf $d
  pass "chmod, chown (numeric ids), touch -d, stat"
}

step_truncate() {
  begin
  f=$W/trunc
  ok "make 10000 bytes" head -c 10000 /dev/urandom > $T/t
  ok "cp to mount" cp $T/t $f
  ok "truncate -s 100000" truncate -s 100000 $f
  drop_caches
  eq "size after growing" "$(size $f)" 100000
  { cat $T/t; head -c 90000 /dev/zero; } > $T/want
  eq "content after growing (zeros past old end)" "$(sum $f)" "$(sum $T/want)"
  ok "truncate -s 5000" truncate -s 5000 $f
  drop_caches
  eq "size after shrinking" "$(size $f)" 5000
  head -c 5000 $T/t > $T/want
  eq "content after shrinking" "$(sum $f)" "$(sum $T/want)"
  ok "truncate -s 0" truncate -s 0 $f
  drop_caches
  eq "size after truncate to 0" "$(size $f)" 0
  ok "rm truncated file" rm $f
  rm -f $T/t $T/want
  pass "truncate up (zero fill) and down"
}

step_append() {
  begin
  f=$W/append
  echo line0 > $f || fail "create file for append"
  i=1
  while [ $i -le 100 ]; do echo line$i >> $f || fail "append line $i"; i=$((i + 1)); done
  drop_caches
  eq "line count after 100 appends" "$(wc -l < $f)" 101
  eq "last line after appends" "$(tail -n 1 $f)" line100
  seq 0 100 | sed 's/^/line/' > $T/want
  ok "appended content" cmp $T/want $f
  ok "rm append file" rm $f
  pass "append with >> (101 lines)"
}

step_big_dir() {
  begin
  d=$W/bigdir
  ok "mkdir $d" mkdir $d
  # Long names so the listing needs many READDIR replies.
  i=1
  while [ $i -le 5000 ]; do
    : > $d/entry-with-a-fairly-long-name-$i || fail "create entry $i"
    i=$((i + 1))
  done
  t_c=$(( $(date +%s) - step_t0 ))
  drop_caches
  eq "ls | wc -l" "$(ls $d | wc -l)" 5000
  ls $d | sort > $T/got
  seq 1 5000 | sed 's/^/entry-with-a-fairly-long-name-/' | sort > $T/want
  ok "all 5000 names listed" cmp $T/want $T/got
  eq "ls -A shows no extra entries" "$(ls -A $d | wc -l)" 5000
  ok "rm -rf 5000 entries" rm -rf $d
  [ ! -e $d ] || fail "big dir still exists after rm -rf"
  rm -f $T/got $T/want
  pass "directory of 5000 entries listed completely (create $t_c s)"
}

# wait_held FILE: waits until a background "kctool ... hold" printed "held".
wait_held() {
  n=0
  until grep -q held $1 2>/dev/null; do
    n=$((n + 1)); [ $n -le 300 ] || fail "lock holder never got its lock: $(cat $1)"; usleep 100000
  done
}

# granted_after_release WHAT HOLDER_OUT: the waiter's grant (in $T/out) came
# no earlier than the holder's release (both CLOCK_MONOTONIC ms).
granted_after_release() {
  rel=$(sed -n 's/^releasing at \([0-9]*\)/\1/p' $2)
  got=$(sed -n 's/^granted at \([0-9]*\) .*/\1/p' $T/out)
  [ -n "$rel" ] && [ -n "$got" ] || fail "$1: no timestamps (holder: $(cat $2); waiter: $(cat $T/out))"
  [ "$got" -ge "$rel" ] || fail "$1: granted at $got ms while held until $rel ms"
}

expect_rc() {  # WHAT WANT CMD...
  what=$1; want=$2; shift 2
  "$@" > $T/out 2>$T/err; rc=$?
  [ $rc -eq $want ] || fail "$what: exit $rc, want $want ($(cat $T/out $T/err | tr '\n' ' '))"
}

step_locks() {
  begin
  f=$W/lockfile
  echo lock > $f
  # fcntl: an exclusive range held by one process.
  kctool lock hold w $f 0 100 10 > $T/h1 2>&1 &
  h1=$!
  wait_held $T/h1
  expect_rc "fcntl: overlapping write lock is denied" 3 kctool lock try w $f 50 100
  expect_rc "fcntl: overlapping read lock is denied" 3 kctool lock try r $f 0 1
  expect_rc "fcntl: disjoint write lock is granted" 0 kctool lock try w $f 100 100
  expect_rc "fcntl: F_GETLK reports the conflict" 3 kctool lock test w $f 0 10
  grep -q 'conflict w' $T/out || fail "F_GETLK conflict details: $(cat $T/out)"
  expect_rc "fcntl: blocking lock waits for the holder" 0 kctool lock wait w $f 0 100
  wait $h1 || fail "fcntl lock holder failed: $(cat $T/h1)"
  granted_after_release "blocking fcntl lock" $T/h1

  # fcntl: shared read locks coexist, exclude writers.
  kctool lock hold r $f 0 0 4 > $T/h2 2>&1 &
  h2=$!
  wait_held $T/h2
  expect_rc "fcntl: second read lock is granted" 0 kctool lock try r $f 0 0
  expect_rc "fcntl: write lock under a read lock is denied" 3 kctool lock try w $f 10 10
  wait $h2 || fail "read lock holder failed: $(cat $T/h2)"
  expect_rc "fcntl: write lock after the holder exited" 0 kctool lock try w $f 0 0

  # flock: sent to the server as a whole-file lock.
  kctool flock hold $f 10 > $T/h3 2>&1 &
  h3=$!
  wait_held $T/h3
  expect_rc "flock: second exclusive flock is denied" 3 kctool flock try $f
  expect_rc "flock: blocking flock waits for the holder" 0 kctool flock wait $f
  wait $h3 || fail "flock holder failed: $(cat $T/h3)"
  granted_after_release "blocking flock" $T/h3
  expect_rc "flock: granted after the holder exited" 0 kctool flock try $f
  ok "rm lock file" rm $f
  pass "fcntl locks (ranges, read/write, F_GETLK, blocking) and flock between processes"
}

step_cp_tree() {
  begin
  src=$T/tree
  rm -rf $src; mkdir -p $src/a/b/c $src/empty $src/x
  head -c 300000 /dev/urandom > $src/a/big
  echo small > $src/a/b/small
  : > $src/a/b/c/zero
  printf 'exec\n' > $src/x/run; chmod 755 $src/x/run
  chmod 600 $src/a/b/small; chmod 700 $src/x
  ln -s ../a/big $src/x/link
  ln $src/a/big $src/a/b/hardlink
  touch -d "2010-01-01 00:00:00" $src/a/big $src/x/run
  ok "cp -a tree to the mount" cp -a $src $W/tree
  drop_caches
  ok "diff -r local tree vs mount" diff -r $src $W/tree
  list() { (cd $1 && find . | sort | while read -r p; do
      if [ -L "$p" ]; then stat -c '%n %F' "$p"
      elif [ -d "$p" ]; then stat -c '%n %F %a %Y' "$p"  # dir sizes are the server's business
      else stat -c '%n %F %a %s %Y' "$p"; fi
    done); }
  list $src > $T/want
  list $W/tree > $T/got
  ok "cp -a kept modes, sizes, times" diff $T/want $T/got
  eq "hard link kept by cp -a" "$(stat -c %i $W/tree/a/big)" "$(stat -c %i $W/tree/a/b/hardlink)"
  ok "cp -a tree back from the mount" cp -a $W/tree $T/back
  ok "diff -r round trip" diff -r $src $T/back
  ok "rm -rf tree on the mount" rm -rf $W/tree
  [ ! -e $W/tree ] || fail "tree still exists after rm -rf"
  rm -rf $src $T/back $T/want $T/got
  pass "cp -a of a tree to and from the mount, diff -r equal, rm -rf"
}

# xio WHAT ARGS...: xfs_io exits 0 even when a command fails, so any stderr
# output counts as a failure too.
xio() {
  what=$1; shift
  xfs_io "$@" > $T/xio.out 2> $T/err && [ ! -s $T/err ] \
    || fail "$what: xfs_io $* ($(tr '\n' ' ' < $T/err))"
}
blocks() { stat -c %b "$1"; }
# The data/hole map as lseek(SEEK_DATA/SEEK_HOLE) walks it (NFSv4.2 SEEK).
seek_map() { xfs_io -c "seek -a -r 0" "$1" | tr '\t\n' ' ' || fail "seek -a on $1"; }
# op_count OP: calls of NFS operation OP on this mount (/proc/self/mountstats).
op_count() {
  awk -v m=" $M " -v op="$1:" '/^device /{on = index($0, m) > 0} on && $1 == op {print $2; exit}' \
    /proc/self/mountstats
}

# NFSv4.2 space operations through the client's system calls, checked
# against the same calls on the guest's tmpfs: ALLOCATE (falloc), DEALLOCATE
# (fpunch), COPY (copy_range), CLONE (reflink), SEEK (seek -a). Offsets are
# in KiB and 4 KiB aligned (the store's block) except one partial punch.
step_space() {
  begin
  d=$W/space; l=$T/space
  ok "mkdir $d" mkdir $d
  rm -rf $l; mkdir -p $l
  for op in ALLOCATE DEALLOCATE COPY CLONE SEEK; do eval "n0_$op=\$(op_count $op)"; done
  # a: data 0-64k and 128k-192k, a hole up to the size of 320k.
  for f in $l/a $d/a; do
    xio "write a" -f -c "pwrite -q -S 0x61 0 64k" -c "pwrite -q -S 0x62 128k 64k" -c "truncate 320k" $f
  done
  drop_caches
  b0=$(blocks $d/a)
  eq "blocks of a (written: 128 KiB)" "$b0" 256
  # Preallocated blocks read as zeroes and count as allocated, but SEEK
  # treats them as a hole, as ext4, XFS and tmpfs do; data written into
  # them is data.
  for f in $l/a $d/a; do xio "falloc 192k 64k" -c "falloc 192k 64k" $f; done
  drop_caches
  eq "blocks of a after falloc 64k (+128)" "$(blocks $d/a)" $((b0 + 128))
  for f in $l/a $d/a; do
    xio "pwrite into the preallocated range" -c "pwrite -q -S 0x63 200k 4k" $f
    xio "fpunch 16k 8k" -c "fpunch 16k 8k" $f
  done
  drop_caches
  eq "blocks of a after fpunch 8k (-16: freed on the server)" "$(blocks $d/a)" $((b0 + 128 - 16))
  for f in $l/a $d/a; do
    # Not block aligned: zeroes 135000-136000 across a block boundary.
    xio "fpunch 135000 1000" -c "fpunch 135000 1000" $f
    xio "falloc past the end (size 320k -> 352k)" -c "falloc 320k 32k" $f
  done
  # Zero range: Linux before 6.16 (?) has no FALLOC_FL_ZERO_RANGE over NFS
  # (nor tmpfs), so the reference is fpunch + falloc -k; when the client
  # refuses, the server zeroes the range through `pnfsgw admin`.
  xio "zero 40k-48k locally" -c "fpunch 40k 8k" -c "falloc -k 40k 8k" $l/a
  xfs_io -c "fzero 40k 8k" $d/a 2> $T/err
  if grep -q "not supported" $T/err; then
    zero_how="fzero refused by the client (EOPNOTSUPP): zeroed by pnfsgw admin fallocate --zero-range"
    host_request .kc-zero-range $d/a
    host_request_end
  elif [ -s $T/err ]; then
    fail "fzero 40k 8k on NFS: $(cat $T/err)"
  else
    zero_how="fzero through the client"
  fi
  # b: copy_range from a (with its holes) over the middle of b.
  for f in $l/b $d/b; do
    xio "write b" -f -c "pwrite -q -S 0x64 0 256k" $f
    xio "copy_range a 16k-112k to b at 64k" -c "copy_range -s 16k -d 64k -l 96k ${f%/b}/a" $f
  done
  # c: reflink of a's first 128k at 64k (tmpfs cannot: copied there).
  xio "reflink a 0-128k to c at 64k" -f -c "reflink $d/a 0 64k 128k" $d/c
  xio "local copy for c" -f -c "copy_range -s 0 -d 64k -l 128k $l/a" $l/c
  drop_caches
  for f in a b c; do
    eq "size of $f" "$(size $d/$f)" "$(size $l/$f)"
    eq "sha256 of $f" "$(sum $d/$f)" "$(sum $l/$f)"
  done
  eq "data/hole map of a (seek -a)" "$(seek_map $d/a)" "$(seek_map $l/a)"
  # COPY may keep the source's holes (the store does, as XFS) or write
  # zeroes (tmpfs): both are right, a hole over the source's data is not.
  map_b=$(seek_map $d/b)
  sparse_b="Whence Result DATA 0 HOLE 65536 DATA 73728 HOLE 90112 DATA 98304 HOLE 114688 DATA 163840 HOLE 262144 "
  [ "$map_b" = "$(seek_map $l/b)" ] || [ "$map_b" = "$sparse_b" ] \
    || fail "data/hole map of b (seek -a): got '$map_b', want '$(seek_map $l/b)' or '$sparse_b'"
  # A clone shares a's blocks, holes included: a hole at 0-64k, then a's map
  # from 0 to 128k shifted by 64k (data 0-16k, 24k-40k, 48k-64k), and a hole
  # to the end.
  eq "data/hole map of reflinked c (seek -a)" "$(seek_map $d/c)" \
    "Whence Result HOLE 0 DATA 65536 HOLE 81920 DATA 90112 HOLE 106496 DATA 114688 HOLE 131072 "
  for op in ALLOCATE DEALLOCATE COPY CLONE SEEK; do
    eval "n0=\$n0_$op"
    [ "$(op_count $op)" -gt "${n0:-0}" ] || fail "no $op sent to the server (mountstats: ${n0:-0} -> $(op_count $op))"
  done
  ok "rm -rf $d" rm -rf $d
  rm -rf $l
  pass "NFSv4.2 falloc, fpunch, copy_range, reflink, seek -a equal to tmpfs; blocks freed by fpunch; $zero_how"
}

# pnfsgw admin insert/collapse-range on a file the client holds open: the
# data moves under the client. The offsets match HostRequestWatcher.REQUESTS.
step_admin_shift() {
  begin
  f=$W/shift
  xio "write shift file A|B|C (4k each)" -f \
    -c "pwrite -q -S 0x41 0 4k" -c "pwrite -q -S 0x42 4k 4k" -c "pwrite -q -S 0x43 8k 4k" $f
  for c in A B C; do head -c 4096 /dev/zero | tr '\0' $c > $T/$c; done
  head -c 8192 /dev/zero > $T/Z
  cat $T/A $T/B $T/C > $T/abc
  cat $T/A $T/Z $T/B $T/C > $T/inserted  # insert-range 4096 8192
  cat $T/B $T/C > $T/collapsed           # then collapse-range 0 12288
  exec 5< $f
  kctool pread 5 > $T/got || fail "pread through the open fd"
  ok "read through the open fd before the change" cmp $T/abc $T/got

  # The open fd first: no open revalidates it, the client sees the change
  # when its attribute cache for the file times out (acregmin, 3 s, after a
  # recent change; up to acregmax, 60 s) and the change attribute moved.
  host_request .kc-insert-range $f
  t0=$(date +%s)
  until kctool pread 5 > $T/got && cmp -s $T/inserted $T/got; do
    [ $(( $(date +%s) - t0 )) -le 70 ] || fail "the open fd still reads the old data 70 s after insert-range ($(size $T/got) bytes)"
    sleep 1
  done
  t_fd=$(( $(date +%s) - t0 ))
  eq "size after insert-range" "$(size $f)" 20480
  eq "fresh open after insert-range" "$(sum $f)" "$(sum $T/inserted)"

  # A fresh open first: close-to-open revalidates at once.
  host_request .kc-collapse-range $f
  eq "fresh open after collapse-range (at once)" "$(sum $f)" "$(sum $T/collapsed)"
  kctool pread 5 > $T/got || fail "pread through the open fd after collapse-range"
  ok "the open fd after collapse-range" cmp $T/collapsed $T/got
  eq "size after collapse-range" "$(size $f)" 8192
  exec 5<&-
  host_request_end
  ok "rm shift file" rm $f
  rm -f $T/A $T/B $T/C $T/Z $T/abc $T/inserted $T/collapsed $T/got
  pass "admin insert-range seen through an open fd (after $t_fd s), collapse-range through a fresh open at once"
}

step_restart() {
  begin
  d=$W/restart
  ok "mkdir $d" mkdir $d
  cd $d || fail "cd into the mount"
  printf 'before\n' > r1
  printf 'appended-before\n' > r2
  ok "mkdir sub" mkdir sub
  echo deep > sub/f
  exec 5< r1
  exec 6>> r2
  ino=$(stat -c %i r1)
  ok "stat before restart" stat r1 sub sub/f > /dev/null
  t0=$(date +%s)
  host_request .restart-me
  echo "restart seen after $(( $(date +%s) - t0 )) s"
  eq "read an fd opened before the restart" "$(cat <&5)" before
  echo appended-after >&6 || fail "write to an fd opened before the restart"
  eq "stat after restart: same inode" "$(stat -c %i r1)" "$ino"
  ok "stat after restart" stat r1 sub sub/f > /dev/null
  eq "file looked up before the restart" "$(cat sub/f)" deep
  eq "ls of the cwd after restart" "$(ls | tr '\n' ' ')" "r1 r2 sub "
  echo new > new || fail "create in the cwd after restart"
  exec 5<&- 6>&-
  host_request_end
  drop_caches
  eq "appends across the restart" "$(cat r2 | tr '\n' ' ')" "appended-before appended-after "
  eq "new file after restart" "$(cat new)" new
  if dmesg | grep -qi stale; then fail "kernel log mentions stale handles: $(dmesg | grep -i stale | tail -3)"; fi
  cd / || fail "cd /"
  ok "rm -rf restart dir" rm -rf $d
  pass "server restart: open fds, cwd and earlier lookups keep working, no ESTALE"
}

step_umount() {
  begin
  cd /
  ok "rmdir $W" rmdir $W
  ok "umount" umount $M
  if grep -qE " $M nfs4? " /proc/mounts; then fail "still mounted after umount"; fi
  pass "clean umount"
}

echo "kclient scenario: vers=$VERS server=$SERVER:$NFS_PORT kernel=$(uname -r)"
t_all=$(date +%s)
step_mount
steps="sizes big deep_tree rename unlink_open links attrs truncate append big_dir locks cp_tree"
[ "$VERS" = 4.2 ] && steps="$steps space"
for s in $steps admin_shift restart; do
  skip $s || step_$s
done
step_umount
echo "kclient scenario: all steps passed in $(( $(date +%s) - t_all )) s"
exit 0
