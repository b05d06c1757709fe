;; A library-style ("reactor") module, as C or Rust toolchains make them:
;; no `_start`; `_initialize` sets it up, `malloc` hands the host guest
;; memory to write input into, and `greet` returns where its output is.
;; `examples/embed.rs` drives it through the embedding API.
(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 0))
  (data (i32.const 16) "Hello, ")

  (func (export "_initialize")
    (global.set $heap (i32.const 1024)))

  ;; A bump allocator: enough for a demo, never frees; traps when the
  ;; memory cannot grow.
  (func $malloc (export "malloc") (param $len i32) (result i32)
    (local $ptr i32) (local $short i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.set $short (i32.sub (global.get $heap)
                               (i32.mul (memory.size) (i32.const 65536))))
    (if (i32.gt_s (local.get $short) (i32.const 0))
      (then
        (if (i32.eq (memory.grow (i32.shr_u (i32.add (local.get $short) (i32.const 65535))
                                            (i32.const 16)))
                    (i32.const -1))
          (then unreachable))))
    (local.get $ptr))

  ;; "Hello, NAME!" with NAME upper-cased; returns (pointer, length).
  (func (export "greet") (param $name i32) (param $len i32) (result i32 i32)
    (local $out i32) (local $i i32) (local $c i32)
    (local.set $out (call $malloc (i32.add (local.get $len) (i32.const 8))))
    (memory.copy (local.get $out) (i32.const 16) (i32.const 7))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $c (i32.load8_u (i32.add (local.get $name) (local.get $i))))
        (if (i32.and (i32.ge_u (local.get $c) (i32.const 97))
                     (i32.le_u (local.get $c) (i32.const 122)))
          (then (local.set $c (i32.sub (local.get $c) (i32.const 32)))))
        (i32.store8 (i32.add (i32.add (local.get $out) (i32.const 7)) (local.get $i))
                    (local.get $c))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store8 (i32.add (i32.add (local.get $out) (i32.const 7)) (local.get $len))
                (i32.const 33))
    (call $log (local.get $out) (i32.add (local.get $len) (i32.const 8)))
    (local.get $out)
    (i32.add (local.get $len) (i32.const 8))))
