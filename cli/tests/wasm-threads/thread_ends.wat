;; The main thread spawns one thread and waits for ever; the thread ends
;; the program: with `proc_exit(7)` when started with argument 1, with a
;; trap (unreachable) otherwise. Which one comes from the program's
;; argument count (no arguments: trap).
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func $fail (unreachable))
  (func (export "wasi_thread_start") (param $tid i32) (param $exit i32)
    (if (local.get $exit)
      (then (call $proc_exit (i32.const 7)))
      (else (call $fail))))
  (func (export "_start")
    (drop (call $args_sizes_get (i32.const 100) (i32.const 104)))
    (drop (call $spawn (i32.gt_u (i32.load (i32.const 100)) (i32.const 1))))
    (loop $forever
      (drop (memory.atomic.wait32 (i32.const 200) (i32.const 0) (i64.const -1)))
      (br $forever))))
