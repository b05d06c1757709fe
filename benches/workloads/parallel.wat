;; Threads (wasi-threads): two worker threads each mix half of 0..n through
;; an integer hash and add their sums into one total with an atomic add;
;; the main thread waits (memory.atomic.wait32) until both are done and
;; prints the total. Same computation as parallel.c, the native reference.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  ;; 2048: n   2052: total   2056: workers done
  (global $threads i32 (i32.const 2))

  (func $mix (param $i i32) (result i32)
    (local $x i32) (local $round i32)
    (local.set $x (i32.mul (local.get $i) (i32.const 0x9E3779B9)))
    (loop $rounds
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
      (local.set $x (i32.mul (local.get $x) (i32.const 0x2C1B3C6D)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 12))))
      (local.set $x (i32.mul (local.get $x) (i32.const 0x297A2D39)))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 16))))
    (local.get $x))

  (func (export "wasi_thread_start") (param $tid i32) (param $index i32)
    (local $i i32) (local $end i32) (local $sum i32) (local $n i64)
    (local.set $n (i64.extend_i32_u (i32.atomic.load (i32.const 2048))))
    (local.set $i (i32.wrap_i64 (i64.div_u
      (i64.mul (local.get $n) (i64.extend_i32_u (local.get $index)))
      (i64.extend_i32_u (global.get $threads)))))
    (local.set $end (i32.wrap_i64 (i64.div_u
      (i64.mul (local.get $n) (i64.extend_i32_u (i32.add (local.get $index) (i32.const 1))))
      (i64.extend_i32_u (global.get $threads)))))
    (block $finished
      (loop $next
        (br_if $finished (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $sum (i32.add (local.get $sum) (call $mix (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (drop (i32.atomic.rmw.add (i32.const 2052) (local.get $sum)))
    (drop (i32.atomic.rmw.add (i32.const 2056) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 2056) (i32.const 1))))

  ;; argv[1] as a decimal number, or `default` without one.
  (func $arg1 (param $default i32) (result i32)
    (local $p i32) (local $n i32) (local $c i32)
    ;; argc at 0, buffer size at 4; argv pointers at 16, strings at 1024.
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2))
      (then (return (local.get $default))))
    (drop (call $args_get (i32.const 16) (i32.const 1024)))
    (local.set $p (i32.load (i32.const 20)))
    (block $done
      (loop $digit
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done (i32.gt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9)))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10))
                               (i32.sub (local.get $c) (i32.const 48))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $digit)))
    (local.get $n))

  ;; Prints "checksum: <v>\n" (v unsigned decimal) on stdout, as one
  ;; buffer: digits backwards from 300, the prefix just before them.
  (func $print_checksum (param $v i32)
    (local $p i32)
    (i32.store8 (i32.const 300) (i32.const 10))
    (local.set $p (i32.const 300))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digits (local.get $v)))
    (local.set $p (i32.sub (local.get $p) (i32.const 10)))
    (i64.store (local.get $p) (i64.const 0x6d75736b63656863))  ;; "checksum"
    (i32.store16 offset=8 (local.get $p) (i32.const 0x203a))   ;; ": "
    (i32.store (i32.const 128) (local.get $p))
    (i32.store (i32.const 132) (i32.sub (i32.const 301) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 128) (i32.const 1) (i32.const 144))))

  (func (export "_start")
    (local $t i32) (local $done i32)
    (i32.atomic.store (i32.const 2048) (call $arg1 (i32.const 40000000)))
    (loop $spawn_all
      (if (i32.le_s (call $spawn (local.get $t)) (i32.const 0))
        (then (call $proc_exit (i32.const 1))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $spawn_all (i32.lt_u (local.get $t) (global.get $threads))))
    (loop $wait_all
      (local.set $done (i32.atomic.load (i32.const 2056)))
      (if (i32.lt_u (local.get $done) (global.get $threads))
        (then
          (drop (memory.atomic.wait32 (i32.const 2056) (local.get $done) (i64.const -1)))
          (br $wait_all))))
    (call $print_checksum (i32.atomic.load (i32.const 2052)))))
