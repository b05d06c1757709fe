;; A WASI "hello world" in WebAssembly text: `wasmtier run examples/hello.wat`.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; An iovec at 0 pointing at the text at 16.
  (data (i32.const 0) "\10\00\00\00\15\00\00\00")
  (data (i32.const 16) "Hello from wasmtier!\0a")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
