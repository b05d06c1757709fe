;; Spawns three threads that each block until the main thread releases
;; them, then exits with 10 * (spawns that worked) + (spawns refused): a
;; cap of two running threads gives 21, no cap that low gives 30.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  ;; 0: released flag   4: threads done
  (func (export "wasi_thread_start") (param i32 i32)
    (loop $blocked
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $blocked))))
    (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  (func (export "_start")
    (local $i i32) (local $ok i32) (local $refused i32) (local $done i32)
    (loop $spawn_three
      (if (i32.gt_s (call $spawn (i32.const 0)) (i32.const 0))
        (then (local.set $ok (i32.add (local.get $ok) (i32.const 1))))
        (else (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn_three (i32.lt_u (local.get $i) (i32.const 3))))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const -1)))
    (loop $wait_all
      (local.set $done (i32.atomic.load (i32.const 4)))
      (if (i32.lt_u (local.get $done) (local.get $ok))
        (then
          (drop (memory.atomic.wait32 (i32.const 4) (local.get $done) (i64.const -1)))
          (br $wait_all))))
    (call $proc_exit (i32.add (i32.mul (local.get $ok) (i32.const 10)) (local.get $refused)))))
