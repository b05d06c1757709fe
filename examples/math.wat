;; Exports to try with `--invoke`:
;;   wasmtier run examples/math.wat --invoke add 2 40
;;   wasmtier run examples/math.wat --invoke div 1 0     (traps)
(module
  (func $add (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func $div (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func $hypot (export "hypot") (param f64 f64) (result f64)
    (f64.sqrt (f64.add (f64.mul (local.get 0) (local.get 0))
                       (f64.mul (local.get 1) (local.get 1))))))
