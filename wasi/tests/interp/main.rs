//! The WASI layer end to end, through the interpreter engine.

#[path = "../common/mod.rs"]
mod common;

mod args_env;
mod clocks_random;
mod cost;
mod files;
mod proc;
