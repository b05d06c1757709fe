;; A wasi-threads program checked by its own results: four threads sum
;; disjoint ranges of 1..=1_000_000 into one i64 with an atomic add, and
;; each increments a shared counter 5,000 times under a mutex built from
;; compare-exchange, wait and notify. The main thread spawns them, waits
;; (memory.atomic.wait32) until all four report done, then checks both
;; totals: "ok" and status 0, or a message naming what is wrong, status 1.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  ;; 0: mutex (0 free, 1 held)   4: counter   8: threads done   16: sum (i64)
  (global $threads i32 (i32.const 4))
  (global $per_thread i64 (i64.const 250000))
  (global $increments i32 (i32.const 5000))

  (data (i32.const 256) "ok\n")
  (data (i32.const 272) "thread-spawn failed\n")
  (data (i32.const 304) "wrong sum\n")
  (data (i32.const 320) "wrong counter\n")

  (func $print (param $at i32) (param $len i32)
    (i32.store (i32.const 128) (local.get $at))
    (i32.store (i32.const 132) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 128) (i32.const 1) (i32.const 136))))

  (func $lock
    (loop $retry
      (if (i32.atomic.rmw.cmpxchg (i32.const 0) (i32.const 0) (i32.const 1))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const -1)))
          (br $retry)))))

  (func $unlock
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))

  (func (export "wasi_thread_start") (param $tid i32) (param $index i32)
    (local $n i64) (local $end i64) (local $sum i64) (local $i i32)
    ;; numbers index*per+1 ..= (index+1)*per
    (local.set $n (i64.add (i64.mul (i64.extend_i32_u (local.get $index)) (global.get $per_thread))
                           (i64.const 1)))
    (local.set $end (i64.add (local.get $n) (global.get $per_thread)))
    (loop $add
      (local.set $sum (i64.add (local.get $sum) (local.get $n)))
      (local.set $n (i64.add (local.get $n) (i64.const 1)))
      (br_if $add (i64.lt_u (local.get $n) (local.get $end))))
    (drop (i64.atomic.rmw.add (i32.const 16) (local.get $sum)))
    ;; a plain read-modify-write, safe only under the mutex
    (loop $count
      (call $lock)
      (i32.store (i32.const 4) (i32.add (i32.load (i32.const 4)) (i32.const 1)))
      (call $unlock)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (global.get $increments))))
    (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 8) (i32.const 1))))

  (func (export "_start")
    (local $i i32) (local $done i32)
    (loop $spawn_all
      (if (i32.le_s (call $spawn (local.get $i)) (i32.const 0))
        (then (call $print (i32.const 272) (i32.const 20)) (call $proc_exit (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn_all (i32.lt_u (local.get $i) (global.get $threads))))
    (loop $wait_all
      (local.set $done (i32.atomic.load (i32.const 8)))
      (if (i32.lt_u (local.get $done) (global.get $threads))
        (then
          (drop (memory.atomic.wait32 (i32.const 8) (local.get $done) (i64.const -1)))
          (br $wait_all))))
    ;; 1 + ... + 1_000_000
    (if (i64.ne (i64.atomic.load (i32.const 16)) (i64.const 500000500000))
      (then (call $print (i32.const 304) (i32.const 10)) (call $proc_exit (i32.const 1))))
    (if (i32.ne (i32.atomic.load (i32.const 4))
                (i32.mul (global.get $threads) (global.get $increments)))
      (then (call $print (i32.const 320) (i32.const 14)) (call $proc_exit (i32.const 1))))
    (call $print (i32.const 256) (i32.const 3))))
