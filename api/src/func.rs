//! Typed functions both ways: exports called with Rust values, and host
//! functions written as Rust closures.

use std::marker::PhantomData;

use wasmtier_core::{
    FuncType, HostContext, HostFunc, HostItem, HostMemory, InstanceId, Trap, Val, ValType,
};

use crate::{Error, Store};

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is one Wasm value: `i32`, `i64`, `f32` or `f64`.
pub trait WasmTy: Copy + Send + Sync + 'static + sealed::Sealed {
    /// Its Wasm type.
    const TYPE: ValType;
    /// The Wasm value.
    fn into_val(self) -> Val;
    /// The Rust value, when `val` has this type.
    fn from_val(val: &Val) -> Option<Self>;
}

macro_rules! wasm_ty {
    ($($rust:ty => $ty:ident, $variant:ident, $into:expr, $from:expr;)*) => {$(
        impl sealed::Sealed for $rust {}
        impl WasmTy for $rust {
            const TYPE: ValType = ValType::$ty;
            fn into_val(self) -> Val {
                Val::$variant($into(self))
            }
            fn from_val(val: &Val) -> Option<Self> {
                match val {
                    Val::$variant(v) => Some($from(*v)),
                    _ => None,
                }
            }
        }
    )*};
}

wasm_ty! {
    i32 => I32, I32, |v| v, |v| v;
    i64 => I64, I64, |v| v, |v| v;
    f32 => F32, F32, f32::to_bits, f32::from_bits;
    f64 => F64, F64, f64::to_bits, f64::from_bits;
}

/// The parameters of a function as Rust values: `()`, one [`WasmTy`], or
/// a tuple of up to six.
pub trait WasmParams: Send + 'static {
    /// The Wasm types, in order.
    fn types() -> Vec<ValType>;
    /// The values, in order.
    fn into_vals(self) -> Vec<Val>;
    /// The Rust values from `vals` (already checked against `types`).
    fn from_vals(vals: &[Val]) -> Option<Self>
    where
        Self: Sized;
}

/// The results of a function as Rust values: `()`, one [`WasmTy`], or a
/// tuple of up to six.
pub trait WasmResults: Send + 'static {
    /// The Wasm types, in order.
    fn types() -> Vec<ValType>;
    /// The Rust values from `vals`, when they have these types.
    fn from_vals(vals: &[Val]) -> Option<Self>
    where
        Self: Sized;
    /// Writes the values into `out` (sized by the signature).
    fn write_vals(self, out: &mut [Val]);
}

impl<A: WasmTy> WasmParams for A {
    fn types() -> Vec<ValType> {
        vec![A::TYPE]
    }
    fn into_vals(self) -> Vec<Val> {
        vec![self.into_val()]
    }
    fn from_vals(vals: &[Val]) -> Option<Self> {
        match vals {
            [a] => A::from_val(a),
            _ => None,
        }
    }
}

impl<A: WasmTy> WasmResults for A {
    fn types() -> Vec<ValType> {
        vec![A::TYPE]
    }
    fn from_vals(vals: &[Val]) -> Option<Self> {
        <A as WasmParams>::from_vals(vals)
    }
    fn write_vals(self, out: &mut [Val]) {
        if let Some(slot) = out.first_mut() {
            *slot = self.into_val();
        }
    }
}

macro_rules! tuples {
    ($(($($name:ident)*))*) => {$(
        #[allow(non_snake_case, unused_variables, unused_mut, clippy::unused_unit)]
        impl<$($name: WasmTy),*> WasmParams for ($($name,)*) {
            fn types() -> Vec<ValType> {
                vec![$($name::TYPE),*]
            }
            fn into_vals(self) -> Vec<Val> {
                let ($($name,)*) = self;
                vec![$($name.into_val()),*]
            }
            fn from_vals(vals: &[Val]) -> Option<Self> {
                let mut vals = vals.iter();
                let values = ($($name::from_val(vals.next()?)?,)*);
                vals.next().is_none().then_some(values)
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut)]
        impl<$($name: WasmTy),*> WasmResults for ($($name,)*) {
            fn types() -> Vec<ValType> {
                <Self as WasmParams>::types()
            }
            fn from_vals(vals: &[Val]) -> Option<Self> {
                <Self as WasmParams>::from_vals(vals)
            }
            fn write_vals(self, out: &mut [Val]) {
                let ($($name,)*) = self;
                let mut slots = out.iter_mut();
                $(if let Some(slot) = slots.next() { *slot = $name.into_val(); })*
            }
        }
    )*};
}

tuples! {
    ()
    (A1)
    (A1 A2)
    (A1 A2 A3)
    (A1 A2 A3 A4)
    (A1 A2 A3 A4 A5)
    (A1 A2 A3 A4 A5 A6)
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

/// An exported function with a checked signature, called with Rust values.
pub struct TypedFunc<Params, Results> {
    instance: InstanceId,
    store: u64,
    name: String,
    _types: PhantomData<fn(Params) -> Results>,
}

impl<Params: WasmParams, Results: WasmResults> TypedFunc<Params, Results> {
    pub(crate) fn new(
        instance: InstanceId,
        store: u64,
        name: &str,
        ty: &FuncType,
    ) -> Result<Self, Error> {
        let (params, results) = (Params::types(), Results::types());
        if ty.params != params || ty.results != results {
            return Err(Error::Signature {
                name: name.to_string(),
                expected: signature(&params, &results),
                actual: signature(&ty.params, &ty.results),
            });
        }
        Ok(Self {
            instance,
            store,
            name: name.to_string(),
            _types: PhantomData,
        })
    }

    /// Calls the function in `store` (the one its instance lives in).
    pub fn call<T>(&self, store: &mut Store<T>, params: Params) -> Result<Results, Error> {
        if self.store != store.id {
            return Err(Error::Link(wasmtier_core::LinkError::Engine(
                "the function belongs to another store".into(),
            )));
        }
        let results = store
            .inner
            .call(self.instance, &self.name, &params.into_vals())?;
        Results::from_vals(&results).ok_or_else(|| Error::ResultType {
            name: self.name.clone(),
            expected: Results::types().first().copied().unwrap_or(ValType::I32),
            got: results.first().map_or(ValType::I32, Val::ty),
        })
    }
}

/// What a host function is running for: the store's state and the calling
/// instance's exported `memory`.
pub struct Caller<'a, T> {
    data: &'a mut T,
    memory: Option<HostMemory<'a>>,
}

impl<T> Caller<'_, T> {
    /// The store's state.
    pub fn data(&self) -> &T {
        self.data
    }

    /// The store's state, to change.
    pub fn data_mut(&mut self) -> &mut T {
        self.data
    }

    /// The calling instance's exported memory named `memory`, if it has
    /// one (host functions receive guest pointers into it). `None` for a
    /// shared memory (threads proposal), which other threads may change
    /// meanwhile: use [`Caller::read_memory`] and [`Caller::write_memory`].
    pub fn memory(&mut self) -> Option<&mut [u8]> {
        match &mut self.memory {
            Some(HostMemory::Unshared(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// Copies `out.len()` bytes of the exported memory at `offset` into
    /// `out`; `false` without such a memory or if the range is outside it.
    /// Works on shared memories too.
    pub fn read_memory(&self, offset: usize, out: &mut [u8]) -> bool {
        self.memory.as_ref().is_some_and(|m| m.read(offset, out))
    }

    /// Copies `data` into the exported memory at `offset`; `false` without
    /// such a memory or if it does not fit. Works on shared memories too.
    pub fn write_memory(&mut self, offset: usize, data: &[u8]) -> bool {
        self.memory.as_mut().is_some_and(|m| m.write(offset, data))
    }
}

/// What a host closure may return: results, or a `Result` whose `Err`
/// traps the guest.
pub trait HostResult<Results>: Send {
    /// The results, or the trap to raise.
    fn into_result(self) -> Result<Results, Trap>;
}

impl<R: WasmResults> HostResult<R> for R {
    fn into_result(self) -> Result<R, Trap> {
        Ok(self)
    }
}

impl<R: WasmResults> HostResult<R> for Result<R, Trap> {
    fn into_result(self) -> Result<R, Trap> {
        self
    }
}

/// A Rust closure that can be a host function: `Fn(Caller<T>, A1, …, An)
/// -> R` for up to six [`WasmTy`] arguments and a [`HostResult`].
pub trait IntoHostFunc<T, Params, Results> {
    /// The engine-neutral host function.
    fn into_host_item(self) -> HostItem;
}

macro_rules! host_funcs {
    ($(($($arg:ident)*))*) => {$(
        #[allow(non_snake_case)]
        impl<T, F, R, Results, $($arg: WasmTy),*> IntoHostFunc<T, ($($arg,)*), Results> for F
        where
            T: Send + 'static,
            F: Fn(Caller<'_, T>, $($arg),*) -> R + Send + Sync + 'static,
            R: HostResult<Results>,
            Results: WasmResults,
        {
            fn into_host_item(self) -> HostItem {
                let ty = FuncType {
                    params: <($($arg,)*) as WasmParams>::types(),
                    results: Results::types(),
                };
                HostItem::Func(HostFunc::new(ty, move |context: &mut HostContext<'_>, args: &[Val], out: &mut [Val]| {
                    let ($($arg,)*) = <($($arg,)*) as WasmParams>::from_vals(args)
                        .ok_or_else(|| Trap::host("host function called with arguments of the wrong types"))?;
                    let data = context
                        .state
                        .downcast_mut::<T>()
                        .ok_or_else(|| Trap::host("host function defined for another store's state type"))?;
                    let caller = Caller {
                        data,
                        memory: context.memory.as_mut().map(HostMemory::reborrow),
                    };
                    self(caller, $($arg),*).into_result()?.write_vals(out);
                    Ok(())
                }))
            }
        }
    )*};
}

host_funcs! {
    ()
    (A1)
    (A1 A2)
    (A1 A2 A3)
    (A1 A2 A3 A4)
    (A1 A2 A3 A4 A5)
    (A1 A2 A3 A4 A5 A6)
}
