//! The GC proposal's instructions: structs, arrays, `i31ref`, `ref.eq`,
//! casts and the conversions between `anyref` and `externref`.
//!
//! References are encoded as `gc/object.rs` describes; an object's fields
//! are reached from the heap base and the reference's offset, at offsets
//! from `gc/layout.rs`. Allocation and the array operations that touch
//! segments or copy call builtins; everything else is inline.

use cranelift_codegen::ir::{BlockArg, InstBuilder, Value, condcodes::IntCC, types};
use wasmparser::{AbstractHeapType, HeapType, Operator, RefType};
use wasmtier_core::canon::StorageType;

use super::TranslateError;
use super::bounds_checks::heap_flags;
use super::{Translator, ir_type};
use crate::gc::layout::{FieldLayout, Layout, storage_size};
use crate::gc::object::{FIELDS_OFFSET, KIND_OFFSET, LENGTH_OFFSET, ObjectKind, TYPE_OFFSET};
use crate::traps;
use crate::vmcontext::Builtin;

/// Masks an encoded reference down to its object offset: a damaged value
/// still lands inside the heap's reservation.
const OFFSET_MASK: i64 = 0xffff_fff8;

impl<'a> Translator<'a, '_> {
    pub(super) fn gc(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        use types::{I32, I64};
        match *op {
            Operator::RefEq => {
                let (a, b) = self.pop2();
                let flag = self.b.ins().icmp(IntCC::Equal, a, b);
                let v = self.bool_to_i32(flag);
                self.push(v);
            }
            Operator::RefI31 => {
                let x = self.pop();
                let shifted = self.b.ins().ishl_imm_u(x, 1);
                let tagged = self.b.ins().bor_imm_u(shifted, 1);
                let v = self.b.ins().uextend(I64, tagged);
                self.push(v);
            }
            Operator::I31GetS | Operator::I31GetU => {
                let r = self.pop();
                self.b.ins().trapz(r, traps::NULL_I31);
                let low = self.b.ins().ireduce(I32, r);
                let v = if matches!(op, Operator::I31GetS) {
                    self.b.ins().sshr_imm_u(low, 1)
                } else {
                    self.b.ins().ushr_imm_u(low, 1)
                };
                self.push(v);
            }
            // Both hierarchies share one encoding.
            Operator::AnyConvertExtern | Operator::ExternConvertAny => {}
            Operator::StructNew { struct_type_index } => {
                let fields = self.struct_fields(struct_type_index);
                let values = self.popn(fields.len());
                let zero = self.b.ins().iconst(I32, 0);
                let r = self.allocate(struct_type_index, zero);
                let address = self.object_address(r);
                for (field, value) in fields.iter().zip(values) {
                    self.store_storage(field.storage, value, address, field.offset as i32);
                }
                self.push(r);
            }
            Operator::StructNewDefault { struct_type_index } => {
                let zero = self.b.ins().iconst(I32, 0);
                let r = self.allocate(struct_type_index, zero);
                self.push(r);
            }
            Operator::StructGet {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetS {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetU {
                struct_type_index,
                field_index,
            } => {
                let field = self.struct_fields(struct_type_index)[field_index as usize];
                let r = self.pop();
                self.b.ins().trapz(r, traps::NULL_STRUCT);
                let address = self.object_address(r);
                let signed = matches!(op, Operator::StructGetS { .. });
                let v = self.load_storage(field.storage, signed, address, field.offset as i32);
                self.push(v);
            }
            Operator::StructSet {
                struct_type_index,
                field_index,
            } => {
                let field = self.struct_fields(struct_type_index)[field_index as usize];
                let (r, value) = self.pop2();
                self.b.ins().trapz(r, traps::NULL_STRUCT);
                let address = self.object_address(r);
                self.store_storage(field.storage, value, address, field.offset as i32);
            }
            Operator::ArrayNew { array_type_index } => {
                let (value, length) = self.pop2();
                let r = self.allocate(array_type_index, length);
                let element = self.array_element(array_type_index);
                let address = self.object_address(r);
                let start = self.b.ins().iadd_imm_s(address, i64::from(FIELDS_OFFSET));
                self.fill(element, start, length, value);
                self.push(r);
            }
            Operator::ArrayNewDefault { array_type_index } => {
                let length = self.pop();
                let r = self.allocate(array_type_index, length);
                self.push(r);
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let values = self.popn(array_size as usize);
                let length = self.b.ins().iconst(I32, i64::from(array_size));
                let r = self.allocate(array_type_index, length);
                let element = self.array_element(array_type_index);
                let size = storage_size(element);
                let address = self.object_address(r);
                for (i, value) in values.into_iter().enumerate() {
                    let offset = FIELDS_OFFSET + i as u32 * size;
                    self.store_storage(element, value, address, offset as i32);
                }
                self.push(r);
            }
            Operator::ArrayNewData {
                array_type_index,
                array_data_index: segment,
            }
            | Operator::ArrayNewElem {
                array_type_index,
                array_elem_index: segment,
            } => {
                let builtin = match op {
                    Operator::ArrayNewData { .. } => Builtin::GcArrayNewData,
                    _ => Builtin::GcArrayNewElem,
                };
                let (offset, length) = self.pop2();
                let ty = self.b.ins().iconst(I32, i64::from(array_type_index));
                let segment = self.b.ins().iconst(I32, i64::from(segment));
                let r = self.call_gc_builtin(builtin, &[ty, segment, offset, length]);
                self.push(r);
            }
            Operator::ArrayGet { array_type_index }
            | Operator::ArrayGetS { array_type_index }
            | Operator::ArrayGetU { array_type_index } => {
                let (r, index) = self.pop2();
                let element = self.array_element(array_type_index);
                let address = self.element_address(r, index, element);
                let signed = matches!(op, Operator::ArrayGetS { .. });
                let v = self.load_storage(element, signed, address, 0);
                self.push(v);
            }
            Operator::ArraySet { array_type_index } => {
                let (r, index, value) = self.pop3();
                let element = self.array_element(array_type_index);
                let address = self.element_address(r, index, element);
                self.store_storage(element, value, address, 0);
            }
            Operator::ArrayLen => {
                let r = self.pop();
                self.b.ins().trapz(r, traps::NULL_ARRAY);
                let address = self.object_address(r);
                let v = self.b.ins().load(I32, heap_flags(), address, LENGTH_OFFSET);
                self.push(v);
            }
            Operator::ArrayFill { array_type_index } => {
                let args = self.popn(4);
                let (r, offset, value, count) = (args[0], args[1], args[2], args[3]);
                let element = self.array_element(array_type_index);
                self.b.ins().trapz(r, traps::NULL_ARRAY);
                let address = self.object_address(r);
                self.check_elements(address, offset, count);
                let start = self.element_pointer(address, offset, element);
                self.fill(element, start, count, value);
            }
            Operator::ArrayCopy {
                array_type_index_dst,
                ..
            } => {
                let args = self.popn(5);
                self.b.ins().trapz(args[0], traps::NULL_ARRAY);
                self.b.ins().trapz(args[2], traps::NULL_ARRAY);
                let size = storage_size(self.array_element(array_type_index_dst));
                let size = self.b.ins().iconst(I32, i64::from(size));
                self.env.call_builtin(
                    &mut self.b,
                    Builtin::GcArrayCopy,
                    &[size, args[0], args[1], args[2], args[3], args[4]],
                );
            }
            Operator::ArrayInitData {
                array_type_index,
                array_data_index,
            } => {
                let args = self.popn(4);
                self.b.ins().trapz(args[0], traps::NULL_ARRAY);
                let ty = self.b.ins().iconst(I32, i64::from(array_type_index));
                let data = self.b.ins().iconst(I32, i64::from(array_data_index));
                self.env.call_builtin(
                    &mut self.b,
                    Builtin::GcArrayInitData,
                    &[ty, args[0], args[1], data, args[2], args[3]],
                );
            }
            Operator::ArrayInitElem {
                array_elem_index, ..
            } => {
                let args = self.popn(4);
                self.b.ins().trapz(args[0], traps::NULL_ARRAY);
                let elem = self.b.ins().iconst(I32, i64::from(array_elem_index));
                self.env.call_builtin(
                    &mut self.b,
                    Builtin::GcArrayInitElem,
                    &[args[0], args[1], elem, args[2], args[3]],
                );
            }
            Operator::RefTestNonNull { hty } | Operator::RefTestNullable { hty } => {
                let nullable = matches!(op, Operator::RefTestNullable { .. });
                let r = self.pop();
                let flag = self.ref_test(r, hty, nullable);
                let v = self.bool_to_i32(flag);
                self.push(v);
            }
            Operator::RefCastNonNull { hty } | Operator::RefCastNullable { hty } => {
                let nullable = matches!(op, Operator::RefCastNullable { .. });
                let r = self.pop();
                let flag = self.ref_test(r, hty, nullable);
                self.b.ins().trapz(flag, traps::CAST_FAILURE);
                self.push(r);
            }
            Operator::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            } => self.br_on_cast(relative_depth, to_ref_type, true),
            Operator::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => self.br_on_cast(relative_depth, to_ref_type, false),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The layout of the module's type `ty` (a validated struct or array
    /// type).
    fn layout(&self, ty: u32) -> &'a Layout {
        self.env
            .gc_layout(ty)
            .expect("validated: a struct or array type")
    }

    fn struct_fields(&self, ty: u32) -> &'a [FieldLayout] {
        match self.layout(ty) {
            Layout::Struct { fields, .. } => fields,
            Layout::Array { .. } => unreachable!("validated: a struct type"),
        }
    }

    fn array_element(&self, ty: u32) -> StorageType {
        match self.layout(ty) {
            Layout::Array { element, .. } => *element,
            Layout::Struct { .. } => unreachable!("validated: an array type"),
        }
    }

    /// A new zeroed object of the module's type `ty` (`length` elements
    /// for an array, an `i32`): bumped inline from the store's allocation
    /// window when it fits, else from the allocating builtin (which refills
    /// the window and collects when due).
    fn allocate(&mut self, ty: u32, length: Value) -> Value {
        use types::{I32, I64};
        let layout = self.layout(ty);
        let size = match &layout {
            Layout::Struct { size, .. } => self.b.ins().iconst(I64, i64::from(*size)),
            Layout::Array { element_size, .. } => {
                // Header plus elements, rounded up to 8: at most 64 GiB,
                // which no window holds (the builtin then says so).
                let length = self.b.ins().uextend(I64, length);
                let bytes = self.b.ins().imul_imm_s(length, i64::from(*element_size));
                let padded = self.b.ins().iadd_imm_s(bytes, i64::from(FIELDS_OFFSET) + 7);
                self.b.ins().band_imm_s(padded, -8)
            }
        };
        let (store, cursor, end) = self.env.gc_window(&mut self.b);
        let next = self.b.ins().iadd(cursor, size);
        let fits = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, next, end);
        let inline = self.b.create_block();
        let slow = self.b.create_block();
        let done = self.b.create_block();
        let r = self.b.append_block_param(done, I64);
        self.b.declare_value_needs_stack_map(r);
        self.b.ins().brif(fits, inline, &[], slow, &[]);

        self.b.switch_to_block(inline);
        self.b.seal_block(inline);
        self.env.set_gc_cursor(&mut self.b, store, next);
        let base = self.env.gc_heap_base(&mut self.b);
        let address = self.b.ins().iadd(base, cursor);
        // Header: [type id: u32, size: u32], [kind: u8, mark: u8, 0: u16,
        // length: u32] (`gc::object::ObjectHeader`).
        let type_id = self.env.signature_id(&mut self.b, ty);
        let size_word = self.b.ins().ishl_imm_u(size, 32);
        let first = self.b.ins().bor(size_word, type_id);
        self.b
            .ins()
            .store(heap_flags(), first, address, TYPE_OFFSET);
        let length_word = match &layout {
            Layout::Struct { .. } => self.b.ins().iconst(I64, 0),
            Layout::Array { .. } => {
                let length = self.b.ins().uextend(I64, length);
                self.b.ins().ishl_imm_u(length, 32)
            }
        };
        let second = self
            .b
            .ins()
            .bor_imm_u(length_word, i64::from(layout.kind() as u8));
        self.b
            .ins()
            .store(heap_flags(), second, address, KIND_OFFSET);
        let starts = self.env.gc_starts(&mut self.b, store);
        let slot = self.b.ins().ushr_imm_u(cursor, 3);
        let start = self.b.ins().iadd(starts, slot);
        let one = self.b.ins().iconst(I32, 1);
        self.b.ins().istore8(
            cranelift_codegen::ir::MemFlagsData::trusted(),
            one,
            start,
            0,
        );
        self.b.ins().jump(done, &[BlockArg::from(cursor)]);

        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        let ty = self.b.ins().iconst(I32, i64::from(ty));
        let allocated = self
            .env
            .call_builtin(&mut self.b, Builtin::GcAlloc, &[ty, length])
            .expect("gc_alloc returns the object");
        self.b.ins().jump(done, &[BlockArg::from(allocated)]);

        self.b.switch_to_block(done);
        self.b.seal_block(done);
        r
    }

    /// Calls a builtin that returns a new object, declared as a root.
    fn call_gc_builtin(&mut self, builtin: Builtin, args: &[Value]) -> Value {
        let r = self
            .env
            .call_builtin(&mut self.b, builtin, args)
            .expect("allocating builtins return the object");
        self.b.declare_value_needs_stack_map(r);
        r
    }

    /// The native address of the object `r` (non-null) refers to.
    fn object_address(&mut self, r: Value) -> Value {
        let base = self.env.gc_heap_base(&mut self.b);
        let offset = self.b.ins().band_imm_u(r, OFFSET_MASK);
        self.b.ins().iadd(base, offset)
    }

    /// Traps unless `offset + count` elements fit the array at `address`.
    fn check_elements(&mut self, address: Value, offset: Value, count: Value) {
        let length = self.b.ins().uload32(heap_flags(), address, LENGTH_OFFSET);
        let offset = self.b.ins().uextend(types::I64, offset);
        let count = self.b.ins().uextend(types::I64, count);
        let end = self.b.ins().iadd(offset, count);
        let past = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, length);
        self.b.ins().trapnz(past, traps::ARRAY_OUT_OF_BOUNDS);
    }

    /// Address of element `index` of the array at `address` (no check).
    fn element_pointer(&mut self, address: Value, index: Value, element: StorageType) -> Value {
        let index = self.b.ins().uextend(types::I64, index);
        let scaled = self
            .b
            .ins()
            .imul_imm_s(index, i64::from(storage_size(element)));
        let at = self.b.ins().iadd(address, scaled);
        self.b.ins().iadd_imm_s(at, i64::from(FIELDS_OFFSET))
    }

    /// Address of element `index` of array `r`, trapping on null and out
    /// of bounds.
    fn element_address(&mut self, r: Value, index: Value, element: StorageType) -> Value {
        self.b.ins().trapz(r, traps::NULL_ARRAY);
        let address = self.object_address(r);
        let length = self
            .b
            .ins()
            .load(types::I32, heap_flags(), address, LENGTH_OFFSET);
        let past = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        self.b.ins().trapnz(past, traps::ARRAY_OUT_OF_BOUNDS);
        self.element_pointer(address, index, element)
    }

    /// Stores `value` into `count` consecutive elements from `start`.
    fn fill(&mut self, element: StorageType, start: Value, count: Value, value: Value) {
        let size = i64::from(storage_size(element));
        let count = self.b.ins().uextend(types::I64, count);
        let bytes = self.b.ins().imul_imm_s(count, size);
        let end = self.b.ins().iadd(start, bytes);
        let header = self.b.create_block();
        let body = self.b.create_block();
        let done = self.b.create_block();
        let at = self.b.append_block_param(header, types::I64);
        self.b.ins().jump(header, &[BlockArg::from(start)]);
        self.b.switch_to_block(header);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, at, end);
        self.b.ins().brif(more, body, &[], done, &[]);
        self.b.switch_to_block(body);
        self.b.seal_block(body);
        self.store_storage(element, value, at, 0);
        let next = self.b.ins().iadd_imm_s(at, size);
        self.b.ins().jump(header, &[BlockArg::from(next)]);
        self.b.seal_block(header);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
    }

    /// Loads a field or element of `storage` at `address + offset`.
    fn load_storage(
        &mut self,
        storage: StorageType,
        signed: bool,
        address: Value,
        offset: i32,
    ) -> Value {
        let flags = heap_flags();
        let ins = self.b.ins();
        match (storage, signed) {
            (StorageType::I8, true) => ins.sload8(types::I32, flags, address, offset),
            (StorageType::I8, false) => ins.uload8(types::I32, flags, address, offset),
            (StorageType::I16, true) => ins.sload16(types::I32, flags, address, offset),
            (StorageType::I16, false) => ins.uload16(types::I32, flags, address, offset),
            (StorageType::Val(ty), _) => {
                let v = ins.load(ir_type(ty), flags, address, offset);
                self.traced(v, ty)
            }
        }
    }

    /// Stores `value` as a field or element of `storage` at `address + offset`.
    fn store_storage(&mut self, storage: StorageType, value: Value, address: Value, offset: i32) {
        let flags = heap_flags();
        let ins = self.b.ins();
        match storage {
            StorageType::I8 => ins.istore8(flags, value, address, offset),
            StorageType::I16 => ins.istore16(flags, value, address, offset),
            StorageType::Val(_) => ins.store(flags, value, address, offset),
        };
    }

    /// `br_on_cast` (branch when `r` is a `to`) or `br_on_cast_fail`
    /// (branch when it is not); the reference stays on the stack.
    fn br_on_cast(&mut self, depth: u32, to: RefType, on_success: bool) {
        let r = self.pop();
        let flag = self.ref_test(r, to.heap_type(), to.is_nullable());
        let (target, arity) = self.target(depth);
        let mut args: Vec<BlockArg> = self.peekn(arity - 1).iter().map(|v| (*v).into()).collect();
        args.push(r.into());
        let fallthrough = self.b.create_block();
        if on_success {
            self.b.ins().brif(flag, target, &args, fallthrough, &[]);
        } else {
            self.b.ins().brif(flag, fallthrough, &[], target, &args);
        }
        self.b.switch_to_block(fallthrough);
        self.b.seal_block(fallthrough);
        self.push(r);
    }

    /// An `i8`, 1 when `r` is a value of `(ref null? heap)`.
    fn ref_test(&mut self, r: Value, heap: HeapType, nullable: bool) -> Value {
        let done = self.b.create_block();
        let result = self.b.append_block_param(done, types::I8);
        let non_null = self.b.create_block();
        let if_null = self.b.ins().iconst(types::I8, i64::from(nullable));
        self.b
            .ins()
            .brif(r, non_null, &[], done, &[BlockArg::from(if_null)]);
        self.b.switch_to_block(non_null);
        self.b.seal_block(non_null);
        let constant = |value: bool| Some(value);
        let known = match heap {
            HeapType::Abstract { ty, .. } => match ty {
                AbstractHeapType::Any
                | AbstractHeapType::Extern
                | AbstractHeapType::Func
                | AbstractHeapType::Exn => constant(true),
                AbstractHeapType::None
                | AbstractHeapType::NoExtern
                | AbstractHeapType::NoFunc
                | AbstractHeapType::NoExn
                | AbstractHeapType::Cont
                | AbstractHeapType::NoCont => constant(false),
                AbstractHeapType::Eq => {
                    let low = self.b.ins().band_imm_u(r, 3);
                    let flag = self.b.ins().icmp_imm_u(IntCC::NotEqual, low, 2);
                    self.b.ins().jump(done, &[BlockArg::from(flag)]);
                    None
                }
                AbstractHeapType::I31 => {
                    let low = self.b.ins().band_imm_u(r, 1);
                    let flag = self.b.ins().icmp_imm_u(IntCC::NotEqual, low, 0);
                    self.b.ins().jump(done, &[BlockArg::from(flag)]);
                    None
                }
                AbstractHeapType::Struct | AbstractHeapType::Array => {
                    let kind = if ty == AbstractHeapType::Struct {
                        ObjectKind::Struct
                    } else {
                        ObjectKind::Array
                    };
                    let address = self.object_or(r, done);
                    let actual =
                        self.b
                            .ins()
                            .uload8(types::I32, heap_flags(), address, KIND_OFFSET);
                    let flag = self
                        .b
                        .ins()
                        .icmp_imm_u(IntCC::Equal, actual, i64::from(kind as u8));
                    self.b.ins().jump(done, &[BlockArg::from(flag)]);
                    None
                }
            },
            HeapType::Concrete(index) => {
                let index = index
                    .as_module_index()
                    .expect("validated: a module type index");
                let actual = if self.is_func_type(index) {
                    let (_, _, id) = self.env.funcref_fields(&mut self.b, r, false);
                    id
                } else {
                    let address = self.object_or(r, done);
                    self.b.ins().uload32(heap_flags(), address, TYPE_OFFSET)
                };
                let expected = self.env.signature_id(&mut self.b, index);
                let same = self.b.ins().icmp(IntCC::Equal, actual, expected);
                if self.env.module().type_is_final(index) {
                    self.b.ins().jump(done, &[BlockArg::from(same)]);
                } else {
                    let slow = self.b.create_block();
                    let one = self.b.ins().iconst(types::I8, 1);
                    self.b
                        .ins()
                        .brif(same, done, &[BlockArg::from(one)], slow, &[]);
                    self.b.switch_to_block(slow);
                    self.b.seal_block(slow);
                    let actual = self.b.ins().ireduce(types::I32, actual);
                    let expected = self.b.ins().ireduce(types::I32, expected);
                    let answer = self
                        .env
                        .call_builtin(&mut self.b, Builtin::GcIsSubtype, &[actual, expected])
                        .expect("gc_is_subtype answers");
                    let flag = self.b.ins().icmp_imm_u(IntCC::NotEqual, answer, 0);
                    self.b.ins().jump(done, &[BlockArg::from(flag)]);
                }
                None
            }
        };
        if let Some(value) = known {
            let flag = self.b.ins().iconst(types::I8, i64::from(value));
            self.b.ins().jump(done, &[BlockArg::from(flag)]);
        }
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        result
    }

    /// In a test of non-null `r`: jumps to `done` with 0 unless `r` is an
    /// object, and returns the object's address on the path where it is.
    fn object_or(&mut self, r: Value, done: cranelift_codegen::ir::Block) -> Value {
        let object = self.b.create_block();
        let tag = self.b.ins().band_imm_u(r, 7);
        let zero = self.b.ins().iconst(types::I8, 0);
        self.b
            .ins()
            .brif(tag, done, &[BlockArg::from(zero)], object, &[]);
        self.b.switch_to_block(object);
        self.b.seal_block(object);
        self.object_address(r)
    }

    /// Whether the module's type `index` is a function type.
    fn is_func_type(&self, index: u32) -> bool {
        let id = self.env.module().type_ids()[index as usize];
        wasmtier_core::canon::kind(id) == wasmtier_core::canon::CompositeKind::Func
    }
}
