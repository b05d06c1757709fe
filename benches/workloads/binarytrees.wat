;; Garbage collection: the Benchmarks Game's binary-trees with Wasm 3.0
;; structs (binarytrees.c, with malloc/free, is the native reference and
;; computes the same checksum). A stretch tree of depth n+1, a long-lived
;; tree of depth n, then for d = 4, 6, ..., n, 2^(n-d+4) short-lived trees
;; of depth d, each built bottom-up and checked (its node count). Also
;; prints the longest time one depth-4 tree took ("max pause"): a
;; collection lands inside one of those iterations.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (type $node (struct (field $left (ref null $node)) (field $right (ref null $node))))

  (func $bottom_up (param $depth i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $depth))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else (struct.new $node
        (call $bottom_up (i32.sub (local.get $depth) (i32.const 1)))
        (call $bottom_up (i32.sub (local.get $depth) (i32.const 1)))))))

  (func $check (param $n (ref $node)) (result i32)
    (local $left (ref null $node))
    (local.set $left (struct.get $node $left (local.get $n)))
    (if (result i32) (ref.is_null (local.get $left))
      (then (i32.const 1))
      (else (i32.add (i32.const 1)
        (i32.add (call $check (ref.as_non_null (local.get $left)))
                 (call $check (ref.as_non_null (struct.get $node $right (local.get $n)))))))))

  ;; The monotonic clock in nanoseconds (written at 200).
  (func $now (result i64)
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 200)))
    (i64.load (i32.const 200)))

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

;; Prints `prefix` (8 bytes, at 400) + v (unsigned decimal) + `suffix`
  ;; (at 420, `suffix_len` bytes) + newline: digits backwards from 380.
  (func $print (param $v i64) (param $prefix_len i32) (param $suffix_len i32)
    (local $p i32)
    (local.set $p (i32.const 380))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $v) (i64.const 0))))
    ;; prefix before the digits, suffix and newline after them
    (local.set $p (i32.sub (local.get $p) (local.get $prefix_len)))
    (memory.copy (local.get $p) (i32.const 400) (local.get $prefix_len))
    (memory.copy (i32.const 380) (i32.const 420) (local.get $suffix_len))
    (i32.store8 (i32.add (i32.const 380) (local.get $suffix_len)) (i32.const 10))
    (i32.store (i32.const 128) (local.get $p))
    (i32.store (i32.const 132)
      (i32.sub (i32.add (i32.const 381) (local.get $suffix_len)) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 128) (i32.const 1) (i32.const 144))))

  (func (export "_start")
    (local $max_depth i32) (local $sum i32) (local $long (ref null $node))
    (local $d i32) (local $i i32) (local $iterations i32) (local $checks i32)
    (local $start i64) (local $took i64) (local $max_pause i64)
    (local.set $max_depth (call $arg1 (i32.const 16)))
    (if (i32.lt_u (local.get $max_depth) (i32.const 6))
      (then (local.set $max_depth (i32.const 6))))
    (local.set $sum (call $check
      (call $bottom_up (i32.add (local.get $max_depth) (i32.const 1)))))
    (local.set $long (call $bottom_up (local.get $max_depth)))
    (local.set $d (i32.const 4))
    (loop $depths
      (local.set $iterations
        (i32.shl (i32.const 1) (i32.add (i32.sub (local.get $max_depth) (local.get $d)) (i32.const 4))))
      (local.set $checks (i32.const 0))
      (local.set $i (i32.const 0))
      (loop $trees
        (local.set $start (call $now))
        (local.set $checks (i32.add (local.get $checks)
          (call $check (call $bottom_up (local.get $d)))))
        (local.set $took (i64.sub (call $now) (local.get $start)))
        (if (i32.and (i32.eq (local.get $d) (i32.const 4))
                     (i64.gt_u (local.get $took) (local.get $max_pause)))
          (then (local.set $max_pause (local.get $took))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $trees (i32.lt_u (local.get $i) (local.get $iterations))))
      (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (local.get $checks)))
      (local.set $d (i32.add (local.get $d) (i32.const 2)))
      (br_if $depths (i32.le_u (local.get $d) (local.get $max_depth))))
    (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31))
      (call $check (ref.as_non_null (local.get $long)))))
    ;; "checksum: " is 10 bytes: write it as the prefix
    (i64.store (i32.const 400) (i64.const 0x6d75736b63656863))  ;; "checksum"
    (i32.store16 (i32.const 408) (i32.const 0x203a))            ;; ": "
    (call $print (i64.extend_i32_u (local.get $sum)) (i32.const 10) (i32.const 0))
    ;; "max pause: " (11 bytes) and " us"
    (i64.store (i32.const 400) (i64.const 0x7561702078616d))    ;; "max pau" + NUL
    (i32.store (i32.const 407) (i32.const 0x203a6573))          ;; "se: "
    (i32.store (i32.const 420) (i32.const 0x737520))            ;; " us"
    (call $print (i64.div_u (local.get $max_pause) (i64.const 1000)) (i32.const 11) (i32.const 3))))
