//! What running scripts found: tallies by directive kind, failures, and the
//! summary table printed at the end of a run.

use std::fmt;
use std::ops::AddAssign;

/// The kinds of directive the harness counts separately.
///
/// `assert_invalid` and `assert_malformed` are split by *who* rejected the
/// module: the text parser (`wast`, before any binary exists) or wasmtier's
/// own loader. Only the latter tests wasmtier; the former is counted so that
/// nothing goes unseen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `module`, `module definition` and `module instance`.
    Module,
    Register,
    /// A bare `invoke` (an action: it passes when it does not trap).
    Invoke,
    AssertReturn,
    /// `assert_trap` on an invocation.
    AssertTrap,
    /// `assert_trap` on a module: instantiation must trap.
    AssertUninstantiable,
    AssertExhaustion,
    /// `assert_invalid`, module rejected by wasmtier's loader.
    AssertInvalid,
    /// `assert_invalid`, module already rejected by the text parser.
    AssertInvalidText,
    /// `assert_malformed`, module rejected by wasmtier's loader.
    AssertMalformed,
    /// `assert_malformed`, module already rejected by the text parser.
    AssertMalformedText,
    AssertUnlinkable,
    /// `assert_exception`: the call must end with an uncaught exception.
    AssertException,
    /// Directives this harness does not run (threads, custom
    /// sections' annotations); each counts as a failure.
    Unsupported,
    /// The script itself did not parse; counts as one failure.
    Parse,
}

impl Kind {
    pub const COUNT: usize = 15;
    pub const ALL: [Kind; Self::COUNT] = [
        Self::Module,
        Self::Register,
        Self::Invoke,
        Self::AssertReturn,
        Self::AssertTrap,
        Self::AssertUninstantiable,
        Self::AssertExhaustion,
        Self::AssertInvalid,
        Self::AssertInvalidText,
        Self::AssertMalformed,
        Self::AssertMalformedText,
        Self::AssertUnlinkable,
        Self::AssertException,
        Self::Unsupported,
        Self::Parse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Module => "module",
            Self::Register => "register",
            Self::Invoke => "invoke",
            Self::AssertReturn => "assert_return",
            Self::AssertTrap => "assert_trap",
            Self::AssertUninstantiable => "assert_trap (module)",
            Self::AssertExhaustion => "assert_exhaustion",
            Self::AssertInvalid => "assert_invalid (loader)",
            Self::AssertInvalidText => "assert_invalid (text parser)",
            Self::AssertMalformed => "assert_malformed (loader)",
            Self::AssertMalformedText => "assert_malformed (text parser)",
            Self::AssertUnlinkable => "assert_unlinkable",
            Self::AssertException => "assert_exception",
            Self::Unsupported => "unsupported directive",
            Self::Parse => "script parse",
        }
    }

    /// Whether this is one of the script's `assert_*` directives (the spec
    /// suite's "assertions"); modules, registrations and bare invocations
    /// are actions.
    pub fn is_assertion(self) -> bool {
        !matches!(
            self,
            Self::Module | Self::Register | Self::Invoke | Self::Parse
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Passed and failed counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

impl Tally {
    pub fn total(self) -> u64 {
        self.passed + self.failed
    }
}

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

/// Tallies for every [`Kind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tallies([Tally; Kind::COUNT]);

impl Tallies {
    pub fn get(&self, kind: Kind) -> Tally {
        self.0[kind.index()]
    }

    pub fn record(&mut self, kind: Kind, passed: bool) {
        let tally = &mut self.0[kind.index()];
        if passed {
            tally.passed += 1;
        } else {
            tally.failed += 1;
        }
    }

    /// The `assert_*` directives only.
    pub fn assertions(&self) -> Tally {
        self.sum(|k| k.is_assertion())
    }

    /// Everything, actions included.
    pub fn all(&self) -> Tally {
        self.sum(|_| true)
    }

    fn sum(&self, keep: impl Fn(Kind) -> bool) -> Tally {
        let mut total = Tally::default();
        for kind in Kind::ALL.into_iter().filter(|k| keep(*k)) {
            total += self.get(kind);
        }
        total
    }
}

impl AddAssign<&Tallies> for Tallies {
    fn add_assign(&mut self, other: &Tallies) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }
}

/// One directive that did not do what the script expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based position of the directive in the script.
    pub line: usize,
    pub column: usize,
    pub kind: Kind,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.kind, self.message
        )
    }
}

/// The outcome of one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// The name the script was run under (used in messages only).
    pub name: String,
    pub tallies: Tallies,
    /// In script order.
    pub failures: Vec<Failure>,
}

impl FileReport {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// True when every directive did what the script expects.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// A readable list of the failures, at most `limit` of them, one a line,
    /// each prefixed with the script's name.
    pub fn failure_list(&self, limit: usize) -> String {
        let mut out = String::new();
        for failure in self.failures.iter().take(limit) {
            out.push_str(&format!("{}:{failure}\n", self.name));
        }
        if self.failures.len() > limit {
            out.push_str(&format!(
                "… and {} more failures\n",
                self.failures.len() - limit
            ));
        }
        out
    }
}

/// Totals for a group of scripts (one engine and one suite, say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: u64,
    /// Files with at least one failure.
    pub failed_files: u64,
    pub tallies: Tallies,
}

impl Summary {
    pub fn add(&mut self, report: &FileReport) {
        self.files += 1;
        if !report.passed() {
            self.failed_files += 1;
        }
        self.tallies += &report.tallies;
    }
}

impl AddAssign<&Summary> for Summary {
    fn add_assign(&mut self, other: &Summary) {
        self.files += other.files;
        self.failed_files += other.failed_files;
        self.tallies += &other.tallies;
    }
}

/// Renders one block per row: files, assertions passed/failed, then each
/// kind that occurred, as `passed/failed`.
///
/// ```text
/// interp  spec-v2   files 90 (0 failed)  assertions 26710 passed, 0 failed  actions 1234 passed, 0 failed
///         assert_return 20000/0  assert_trap 3000/0  …
/// ```
pub fn render_summary(rows: &[(String, Summary)]) -> String {
    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, summary) in rows {
        let assertions = summary.tallies.assertions();
        let all = summary.tallies.all();
        let actions = Tally {
            passed: all.passed - assertions.passed,
            failed: all.failed - assertions.failed,
        };
        out.push_str(&format!(
            "{label:<label_width$}  files {} ({} failed)  assertions {} passed, {} failed  \
             actions {} passed, {} failed\n",
            summary.files,
            summary.failed_files,
            assertions.passed,
            assertions.failed,
            actions.passed,
            actions.failed,
        ));
        let kinds: Vec<String> = Kind::ALL
            .into_iter()
            .filter(|k| summary.tallies.get(*k).total() > 0)
            .map(|k| {
                let t = summary.tallies.get(k);
                format!("{k} {}/{}", t.passed, t.failed)
            })
            .collect();
        for line in wrap(&kinds, 100) {
            out.push_str(&format!("{:label_width$}    {line}\n", ""));
        }
    }
    out
}

/// Joins `items` with two spaces into lines of at most about `width` chars.
fn wrap(items: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && line.len() + 2 + item.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_listed_in_index_order() {
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
    }

    #[test]
    fn assertions_exclude_actions() {
        let mut t = Tallies::default();
        t.record(Kind::Module, true);
        t.record(Kind::AssertReturn, true);
        t.record(Kind::AssertTrap, false);
        assert_eq!(
            t.assertions(),
            Tally {
                passed: 1,
                failed: 1
            }
        );
        assert_eq!(t.all().total(), 3);
    }

    #[test]
    fn summary_shows_files_and_kinds() {
        let mut report = FileReport::new("a.wast");
        report.tallies.record(Kind::AssertReturn, true);
        report.tallies.record(Kind::AssertMalformedText, true);
        let mut summary = Summary::default();
        summary.add(&report);
        let text = render_summary(&[("interp spec-v2".into(), summary)]);
        assert!(text.contains("files 1 (0 failed)"), "{text}");
        assert!(text.contains("assertions 2 passed, 0 failed"), "{text}");
        assert!(
            text.contains("assert_malformed (text parser) 1/0"),
            "{text}"
        );
    }
}
