//! Drives the WASI layer through the real interpreter engine.
//!
//! [`Guest::new`] builds a module that imports the named preview1 functions
//! and re-exports each through a Wasm wrapper of the same signature (a host
//! function only sees the caller's memory when Wasm calls it), plus
//! `peek`/`poke` helpers so tests can read and write linear memory.

#![allow(dead_code)]

use std::sync::Arc;

use wasmtier_core::{
    CallError, Engine, EngineConfig, Features, InstanceId, Store, Trap, Val, ValType,
    ValidatedModule,
};
use wasmtier_engine_interp::InterpEngine;
use wasmtier_wasi::{MODULE, WasiConfig, WasiState, define_imports, functions};

pub const ESUCCESS: i32 = 0;
pub const EBADF: i32 = 8;
pub const ENOENT: i32 = 44;
pub const ENOTCAPABLE: i32 = 76;

pub const RIGHT_FD_READ: i64 = 1 << 1;
pub const RIGHT_FD_WRITE: i64 = 1 << 6;
pub const O_CREAT: i32 = 1;
pub const O_TRUNC: i32 = 8;

const HELPERS: &str = r#"
  (memory (export "memory") 1)
  (func (export "peek8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "peek32") (param i32) (result i32) local.get 0 i32.load)
  (func (export "peek64") (param i32) (result i64) local.get 0 i64.load)
  (func (export "poke8") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "poke32") (param i32 i32) local.get 0 local.get 1 i32.store)
"#;

fn type_text(tys: &[ValType]) -> String {
    tys.iter()
        .map(|t| format!(" {t}"))
        .collect::<Vec<_>>()
        .concat()
}

/// A module importing `imports` (plus `extra` WAT fields), with a wrapper
/// export per import and the memory helpers.
pub fn wat_for(imports: &[&str], extra: &str) -> String {
    let mut wat = String::from("(module\n");
    let mut wrappers = String::new();
    for name in imports {
        let (_, func) = functions()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no WASI function `{name}`"));
        let params = type_text(&func.ty.params);
        let results = type_text(&func.ty.results);
        let gets: String = (0..func.ty.params.len())
            .map(|i| format!(" local.get {i}"))
            .collect();
        wat += &format!(
            "  (import \"{MODULE}\" \"{name}\" (func ${name} (param{params}) (result{results})))\n"
        );
        wrappers += &format!(
            "  (func (export \"{name}\") (param{params}) (result{results}){gets} call ${name})\n"
        );
    }
    // Imports must precede definitions.
    wat += &wrappers;
    wat += HELPERS;
    wat += extra;
    wat += ")\n";
    wat
}

pub struct Guest {
    pub store: Box<dyn Store>,
    pub instance: InstanceId,
}

pub fn instantiate_with_state(wat: &str, state: Box<dyn std::any::Any + Send>) -> Guest {
    let engine = InterpEngine::new(EngineConfig::default());
    let bytes = wat::parse_str(wat).expect("test WAT parses");
    let module = ValidatedModule::new(&bytes, Features::default()).expect("test module validates");
    let compiled = engine.compile(Arc::new(module)).expect("compiles");
    let mut store = engine.new_store(state);
    define_imports(store.as_mut()).expect("WASI imports define");
    let instance = store.instantiate(compiled.as_ref()).expect("instantiates");
    Guest { store, instance }
}

impl Guest {
    pub fn new(imports: &[&str], config: &WasiConfig) -> Self {
        Self::with_extra(imports, "", config)
    }

    pub fn with_extra(imports: &[&str], extra: &str, config: &WasiConfig) -> Self {
        let state = WasiState::new(config).expect("WASI state");
        instantiate_with_state(&wat_for(imports, extra), Box::new(state))
    }

    pub fn try_call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, CallError> {
        self.store.call(self.instance, name, args)
    }

    pub fn trap(&mut self, name: &str, args: &[Val]) -> Trap {
        match self.try_call(name, args) {
            Err(CallError::Trap(trap)) => trap,
            other => panic!("`{name}` should trap, got {other:?}"),
        }
    }

    /// Calls a WASI wrapper taking only `i32`s and returns its errno.
    pub fn errno(&mut self, name: &str, args: &[i32]) -> i32 {
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        self.errno_vals(name, &args)
    }

    pub fn errno_vals(&mut self, name: &str, args: &[Val]) -> i32 {
        match self.try_call(name, args) {
            Ok(results) => match results[..] {
                [Val::I32(errno)] => errno,
                ref other => panic!("`{name}` returned {other:?}"),
            },
            Err(e) => panic!("`{name}` failed: {e}"),
        }
    }

    pub fn peek8(&mut self, addr: i32) -> u8 {
        match self.try_call("peek8", &[Val::I32(addr)]).unwrap()[..] {
            [Val::I32(v)] => v as u8,
            ref other => panic!("peek8 returned {other:?}"),
        }
    }

    pub fn peek32(&mut self, addr: i32) -> u32 {
        match self.try_call("peek32", &[Val::I32(addr)]).unwrap()[..] {
            [Val::I32(v)] => v as u32,
            ref other => panic!("peek32 returned {other:?}"),
        }
    }

    pub fn peek64(&mut self, addr: i32) -> u64 {
        match self.try_call("peek64", &[Val::I32(addr)]).unwrap()[..] {
            [Val::I64(v)] => v as u64,
            ref other => panic!("peek64 returned {other:?}"),
        }
    }

    pub fn read(&mut self, addr: i32, len: usize) -> Vec<u8> {
        (0..len as i32).map(|i| self.peek8(addr + i)).collect()
    }

    /// The NUL-terminated string at `addr`.
    pub fn read_c_str(&mut self, addr: i32) -> String {
        let mut bytes = Vec::new();
        loop {
            match self.peek8(addr + bytes.len() as i32) {
                0 => break,
                b => bytes.push(b),
            }
        }
        String::from_utf8(bytes).unwrap()
    }

    pub fn write(&mut self, addr: i32, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            self.try_call("poke8", &[Val::I32(addr + i as i32), Val::I32(b.into())])
                .unwrap();
        }
    }

    pub fn write32(&mut self, addr: i32, value: u32) {
        self.try_call("poke32", &[Val::I32(addr), Val::I32(value as i32)])
            .unwrap();
    }

    /// Writes one iovec `{buf, len}` at `iov` describing `bytes`, placed at `buf`.
    pub fn write_iovec(&mut self, iov: i32, buf: i32, bytes: &[u8]) {
        self.write(buf, bytes);
        self.write32(iov, buf as u32);
        self.write32(iov + 4, bytes.len() as u32);
    }
}

/// Configuration that keeps test output off the terminal.
pub fn quiet() -> WasiConfig {
    WasiConfig::new().inherit_stdio(false)
}
