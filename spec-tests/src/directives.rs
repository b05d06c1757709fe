//! Runs a script's directives, one after another, against one store.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use wasmtier_core::{
    CallError, CompiledModule, Engine, Features, InstanceId, LinkError, Store, Trap, Val,
    ValidatedModule,
};
use wast::parser::ParseBuffer;
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

use crate::report::{Failure, FileReport, Kind};
use crate::{spectest, values};

/// What one directive came to.
type Outcome = (Kind, Result<(), String>);

pub(crate) struct Runner<'a> {
    engine: &'a dyn Engine,
    features: Features,
    text: &'a str,
    store: Box<dyn Store>,
    /// Instances by the `$name` the script gave them.
    instances: HashMap<String, InstanceId>,
    /// The most recent instance: the target of actions that name none.
    current: Option<InstanceId>,
    /// `module definition`s by name, and the most recent one.
    definitions: HashMap<String, Arc<dyn CompiledModule>>,
    last_definition: Option<Arc<dyn CompiledModule>>,
    report: FileReport,
}

impl<'a> Runner<'a> {
    pub(crate) fn new(
        engine: &'a dyn Engine,
        name: &str,
        text: &'a str,
        features: Features,
    ) -> Self {
        Self {
            engine,
            features,
            text,
            store: engine.new_store(Box::new(())),
            instances: HashMap::new(),
            current: None,
            definitions: HashMap::new(),
            last_definition: None,
            report: FileReport::new(name),
        }
    }

    /// Parses the script and runs every directive; a script that does not
    /// parse is one failure of kind [`Kind::Parse`].
    pub(crate) fn run(mut self) -> FileReport {
        if let Err(e) = spectest::define(&mut *self.store, self.features) {
            self.report.tallies.record(Kind::Module, false);
            self.fail_at(1, 1, Kind::Module, format!("defining `spectest`: {e}"));
            return self.report;
        }
        if let Err(mut e) = self.parse_and_run() {
            e.set_text(self.text);
            let (line, column) = self.line_col(e.span());
            self.report.tallies.record(Kind::Parse, false);
            self.fail_at(line, column, Kind::Parse, e.to_string());
        }
        self.report
    }

    fn parse_and_run(&mut self) -> Result<(), wast::Error> {
        let mut lexer = wast::lexer::Lexer::new(self.text);
        lexer.allow_confusing_unicode(true);
        let buffer = ParseBuffer::new_with_lexer(lexer)?;
        let script: Wast<'_> = wast::parser::parse(&buffer)?;
        for directive in script.directives {
            self.directive(directive);
        }
        Ok(())
    }

    fn directive(&mut self, directive: WastDirective<'_>) {
        let span = directive.span();
        let nominal = nominal_kind(&directive);
        let (kind, result) = catch_unwind(AssertUnwindSafe(|| self.execute(directive)))
            .unwrap_or_else(|panic| {
                let message = wasmtier_core::panic_message(&*panic)
                    .unwrap_or_else(|| "<non-string payload>".into());
                (nominal, Err(format!("panicked: {message}")))
            });
        self.report.tallies.record(kind, result.is_ok());
        if let Err(message) = result {
            let (line, column) = self.line_col(span);
            self.fail_at(line, column, kind, message);
        }
    }

    fn execute(&mut self, directive: WastDirective<'_>) -> Outcome {
        use WastDirective as D;
        match directive {
            D::Module(module) => (Kind::Module, self.module(module)),
            D::ModuleDefinition(module) => (Kind::Module, self.module_definition(module)),
            D::ModuleInstance {
                instance, module, ..
            } => (Kind::Module, self.module_instance(instance, module)),
            D::Register { name, module, .. } => (Kind::Register, self.register(name, module)),
            D::Invoke(invoke) => (
                Kind::Invoke,
                self.invoke(&invoke).map(drop).map_err(show_call_error),
            ),
            D::AssertReturn { exec, results, .. } => {
                (Kind::AssertReturn, self.assert_return(exec, &results))
            }
            D::AssertTrap {
                exec: WastExecute::Wat(module),
                message,
                ..
            } => (
                Kind::AssertUninstantiable,
                self.assert_uninstantiable(module, message),
            ),
            D::AssertTrap { exec, message, .. } => {
                (Kind::AssertTrap, self.assert_trap(exec, message))
            }
            D::AssertExhaustion { call, message, .. } => {
                let result = self.invoke(&call);
                (Kind::AssertExhaustion, expect_trap(result, message))
            }
            D::AssertException { exec, .. } => (Kind::AssertException, self.assert_exception(exec)),
            D::AssertInvalid {
                module, message, ..
            } => self.assert_rejected(
                module,
                message,
                Kind::AssertInvalid,
                Kind::AssertInvalidText,
            ),
            D::AssertMalformed {
                module, message, ..
            } => self.assert_rejected(
                module,
                message,
                Kind::AssertMalformed,
                Kind::AssertMalformedText,
            ),
            D::AssertUnlinkable {
                module, message, ..
            } => (
                Kind::AssertUnlinkable,
                self.assert_unlinkable(module, message),
            ),
            other => (
                Kind::Unsupported,
                Err(format!(
                    "directive not supported: {}",
                    directive_name(&other)
                )),
            ),
        }
    }

    // ---- modules ------------------------------------------------------

    /// Text to binary (the text parser's part), then our loader and the
    /// engine's compiler.
    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Arc<dyn CompiledModule>, String> {
        let bytes = module
            .encode()
            .map_err(|e| format!("text parser rejected the module: {}", e.message()))?;
        self.compile_bytes(&bytes)
    }

    fn compile_bytes(&self, bytes: &[u8]) -> Result<Arc<dyn CompiledModule>, String> {
        let module = ValidatedModule::new(bytes, self.features)
            .map_err(|e| format!("loader rejected the module: {e}"))?;
        self.engine
            .compile(Arc::new(module))
            .map_err(|e| format!("engine could not compile the module: {e}"))
    }

    fn instantiate(&mut self, compiled: &dyn CompiledModule) -> Result<InstanceId, String> {
        self.store
            .instantiate(compiled)
            .map_err(|e| format!("instantiation failed: {e}"))
    }

    fn module(&mut self, mut module: QuoteWat<'_>) -> Result<(), String> {
        // A module that fails leaves no current module behind, so the
        // actions meant for it fail loudly instead of hitting its predecessor.
        self.current = None;
        let name = module.name().map(|id| id.name().to_string());
        let compiled = self.compile(&mut module)?;
        let instance = self.instantiate(&*compiled)?;
        self.current = Some(instance);
        if let Some(name) = name {
            self.instances.insert(name, instance);
        }
        Ok(())
    }

    fn module_definition(&mut self, mut module: QuoteWat<'_>) -> Result<(), String> {
        let name = module.name().map(|id| id.name().to_string());
        self.last_definition = None;
        let compiled = self.compile(&mut module)?;
        if let Some(name) = name {
            self.definitions.insert(name, compiled.clone());
        }
        self.last_definition = Some(compiled);
        Ok(())
    }

    fn module_instance(
        &mut self,
        instance: Option<Id<'_>>,
        module: Option<Id<'_>>,
    ) -> Result<(), String> {
        self.current = None;
        let compiled = match module {
            Some(id) => self.definitions.get(id.name()).cloned(),
            None => self.last_definition.clone(),
        }
        .ok_or_else(|| format!("no module definition {}", show_id(module)))?;
        let id = self.instantiate(&*compiled)?;
        self.current = Some(id);
        if let Some(name) = instance {
            self.instances.insert(name.name().to_string(), id);
        }
        Ok(())
    }

    fn register(&mut self, name: &str, module: Option<Id<'_>>) -> Result<(), String> {
        let instance = self.instance(module)?;
        self.store.register(name, instance);
        Ok(())
    }

    fn instance(&self, module: Option<Id<'_>>) -> Result<InstanceId, String> {
        match module {
            Some(id) => self.instances.get(id.name()).copied(),
            None => self.current,
        }
        .ok_or_else(|| format!("no module instance {}", show_id(module)))
    }

    // ---- actions ------------------------------------------------------

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>, CallError> {
        let instance = self
            .instance(invoke.module)
            .map_err(|_| CallError::NoSuchExport(format!("{} (no such instance)", invoke.name)))?;
        let args = invoke
            .args
            .iter()
            .map(values::argument)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CallError::Trap(Trap::host(format!("harness: {e}"))))?;
        self.store.call(instance, invoke.name, &args)
    }

    fn execute_action(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>, String> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke).map_err(show_call_error),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                self.store
                    .global(instance, global)
                    .map(|v| vec![v])
                    .map_err(show_call_error)
            }
            WastExecute::Wat(_) => Err("a module is not an action".into()),
        }
    }

    // ---- assertions ---------------------------------------------------

    fn assert_return(
        &mut self,
        exec: WastExecute<'_>,
        expected: &[WastRet<'_>],
    ) -> Result<(), String> {
        let actual = self.execute_action(exec)?;
        if actual.len() != expected.len() {
            return Err(format!(
                "expected {} result(s), got {}: [{}]",
                expected.len(),
                actual.len(),
                show_vals(&actual)
            ));
        }
        let wrong: Vec<String> = expected
            .iter()
            .zip(&actual)
            .enumerate()
            .filter(|(_, (e, a))| !values::matches(e, a))
            .map(|(i, (e, a))| {
                format!(
                    "result {i}: expected {}, got {}",
                    values::show_expected(e),
                    values::show_val(a)
                )
            })
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("; "))
        }
    }

    fn assert_trap(&mut self, exec: WastExecute<'_>, message: &str) -> Result<(), String> {
        match exec {
            WastExecute::Invoke(invoke) => {
                let result = self.invoke(&invoke);
                expect_trap(result, message)
            }
            other => match self.execute_action(other) {
                Ok(vals) => Err(format!(
                    "expected trap \"{message}\", got [{}]",
                    show_vals(&vals)
                )),
                Err(e) => Err(format!("expected trap \"{message}\", got {e}")),
            },
        }
    }

    /// `assert_exception`: the action must end with an exception no
    /// handler caught.
    fn assert_exception(&mut self, exec: WastExecute<'_>) -> Result<(), String> {
        let result = match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            other => return self.execute_action(other).map(drop),
        };
        match result {
            Err(CallError::Trap(trap))
                if matches!(trap.kind, wasmtier_core::TrapKind::UncaughtException { .. }) =>
            {
                Ok(())
            }
            Err(other) => Err(format!(
                "expected an uncaught exception, got {}",
                show_call_error(other)
            )),
            Ok(vals) => Err(format!(
                "expected an uncaught exception, got [{}]",
                show_vals(&vals)
            )),
        }
    }

    /// `assert_trap` on a module: it must load and link, then trap while
    /// initializing (a segment out of bounds, a trapping start function).
    fn assert_uninstantiable(&mut self, mut module: Wat<'_>, message: &str) -> Result<(), String> {
        let bytes = module
            .encode()
            .map_err(|e| format!("text parser rejected the module: {}", e.message()))?;
        let compiled = self.compile_bytes(&bytes)?;
        match self.store.instantiate(&*compiled) {
            Err(LinkError::Trap(trap)) if trap.matches_spec_message(message) => Ok(()),
            Err(LinkError::Trap(trap)) => {
                Err(format!("expected trap \"{message}\", got trap \"{trap}\""))
            }
            Err(other) => Err(format!(
                "expected trap \"{message}\", got link error: {other}"
            )),
            Ok(_) => Err(format!("expected trap \"{message}\", module instantiated")),
        }
    }

    /// `assert_invalid` / `assert_malformed`: the text parser or our loader
    /// must reject the module, and which of them did is tallied apart.
    fn assert_rejected(
        &mut self,
        mut module: QuoteWat<'_>,
        message: &str,
        by_loader: Kind,
        by_text: Kind,
    ) -> Outcome {
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(_) => return (by_text, Ok(())),
        };
        match ValidatedModule::new(&bytes, self.features) {
            Err(_) => (by_loader, Ok(())),
            Ok(_) => (
                by_loader,
                Err(format!(
                    "loader accepted the module; expected \"{message}\""
                )),
            ),
        }
    }

    /// `assert_unlinkable`: valid, but an import is missing or of the wrong
    /// type.
    fn assert_unlinkable(&mut self, mut module: Wat<'_>, message: &str) -> Result<(), String> {
        let bytes = module
            .encode()
            .map_err(|e| format!("text parser rejected the module: {}", e.message()))?;
        let compiled = self.compile_bytes(&bytes)?;
        let wants_unknown = message.starts_with("unknown import");
        let wants_incompatible = message.starts_with("incompatible import type");
        match self.store.instantiate(&*compiled) {
            Err(e @ LinkError::UnknownImport { .. }) if wants_incompatible => {
                Err(format!("expected \"{message}\", got: {e}"))
            }
            Err(e @ LinkError::IncompatibleImportType { .. }) if wants_unknown => {
                Err(format!("expected \"{message}\", got: {e}"))
            }
            Err(LinkError::UnknownImport { .. } | LinkError::IncompatibleImportType { .. }) => {
                Ok(())
            }
            Err(other) => Err(format!("expected \"{message}\", got: {other}")),
            Ok(_) => Err(format!("expected \"{message}\", module instantiated")),
        }
    }

    // ---- reporting ----------------------------------------------------

    fn line_col(&self, span: Span) -> (usize, usize) {
        let (line, column) = span.linecol_in(self.text);
        (line + 1, column + 1)
    }

    /// Adds a failure to the list (the caller tallies it).
    fn fail_at(&mut self, line: usize, column: usize, kind: Kind, message: String) {
        self.report.failures.push(Failure {
            line,
            column,
            kind,
            message,
        });
    }
}

/// An invocation must have trapped with the spec's `message`.
fn expect_trap(result: Result<Vec<Val>, CallError>, message: &str) -> Result<(), String> {
    match result {
        Err(CallError::Trap(trap)) if trap.matches_spec_message(message) => Ok(()),
        Err(CallError::Trap(trap)) => Err(format!("expected trap \"{message}\", got \"{trap}\"")),
        Err(other) => Err(format!("expected trap \"{message}\", got error: {other}")),
        Ok(vals) => Err(format!(
            "expected trap \"{message}\", got [{}]",
            show_vals(&vals)
        )),
    }
}

fn show_call_error(e: CallError) -> String {
    match e {
        CallError::Trap(trap) => format!("trapped: {trap}"),
        other => other.to_string(),
    }
}

fn show_vals(vals: &[Val]) -> String {
    vals.iter()
        .map(values::show_val)
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_id(id: Option<Id<'_>>) -> String {
    id.map_or_else(
        || "(none defined yet)".into(),
        |id| format!("${}", id.name()),
    )
}

/// The kind a directive is tallied under if it panics.
fn nominal_kind(directive: &WastDirective<'_>) -> Kind {
    use WastDirective as D;
    match directive {
        D::Module(_) | D::ModuleDefinition(_) | D::ModuleInstance { .. } => Kind::Module,
        D::Register { .. } => Kind::Register,
        D::Invoke(_) => Kind::Invoke,
        D::AssertReturn { .. } => Kind::AssertReturn,
        D::AssertTrap {
            exec: WastExecute::Wat(_),
            ..
        } => Kind::AssertUninstantiable,
        D::AssertTrap { .. } => Kind::AssertTrap,
        D::AssertExhaustion { .. } => Kind::AssertExhaustion,
        D::AssertInvalid { .. } => Kind::AssertInvalid,
        D::AssertMalformed { .. } => Kind::AssertMalformed,
        D::AssertUnlinkable { .. } => Kind::AssertUnlinkable,
        D::AssertException { .. } => Kind::AssertException,
        _ => Kind::Unsupported,
    }
}

fn directive_name(directive: &WastDirective<'_>) -> &'static str {
    use WastDirective as D;
    match directive {
        D::AssertInvalidCustom { .. } => "assert_invalid_custom",
        D::AssertMalformedCustom { .. } => "assert_malformed_custom",
        D::AssertSuspension { .. } => "assert_suspension",
        D::Thread(_) => "thread",
        D::Wait { .. } => "wait",
        _ => "directive",
    }
}
