;; Exceptions: throw through a few frames and catch, many times (Wasm 3.0
;; exception handling). Same computation as throwcatch.c, the native
;; reference: for i in 0..n, `work(8, i)` returns i*3 + 8 when i % 4 == 0
;; and otherwise throws i ^ 0x5a5a from 8 frames down, which the caller
;; catches; the checksum folds every result in.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (tag $thrown (param i32))

  (func $work (param $depth i32) (param $i i32) (result i32)
    (if (i32.eqz (local.get $depth))
      (then
        (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 4)))
          (then (return (i32.mul (local.get $i) (i32.const 3)))))
        (throw $thrown (i32.xor (local.get $i) (i32.const 0x5a5a)))))
    (i32.add
      (call $work (i32.sub (local.get $depth) (i32.const 1)) (local.get $i))
      (i32.const 1)))

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
    (local $n i32) (local $i i32) (local $sum i32) (local $r i32)
    (local.set $n (call $arg1 (i32.const 1000000)))
    (block $end
      (loop $next
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $r
          (block $caught (result i32)
            (try_table (result i32) (catch $thrown $caught)
              (call $work (i32.const 8) (local.get $i)))))
        (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (local.get $r)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $print_checksum (local.get $sum))))
