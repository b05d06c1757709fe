//! What a guest is granted: arguments, environment, preopened directories,
//! stdio. Nothing is reachable unless it is listed here.

use std::path::PathBuf;
use std::time::Instant;

/// The capabilities handed to one WASI program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasiConfig {
    /// Program arguments as the guest sees them, `argv[0]` included.
    pub args: Vec<String>,
    /// Environment variables, in order (duplicates are passed on as given).
    pub env: Vec<(String, String)>,
    pub preopens: Vec<Preopen>,
    /// Connect the guest's fds 0–2 to the host's; otherwise stdin reads as
    /// closed and output to stdout/stderr is discarded.
    pub inherit_stdio: bool,
    /// The run's wall-clock limit (`--timeout`): a WASI call still blocked
    /// (sleeping, waiting for input) at this instant ends with the
    /// "interrupted" trap, as guest code does on every engine.
    pub deadline: Option<Instant>,
}

impl Default for WasiConfig {
    fn default() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            inherit_stdio: true,
            deadline: None,
        }
    }
}

impl WasiConfig {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn preopen(mut self, preopen: Preopen) -> Self {
        self.preopens.push(preopen);
        self
    }

    pub fn inherit_stdio(mut self, inherit: bool) -> Self {
        self.inherit_stdio = inherit;
        self
    }

    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// A host directory the guest may use, under the name `guest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    pub host: PathBuf,
    pub guest: String,
    /// Grant reading only: the directory and every file under it.
    pub read_only: bool,
}

impl Preopen {
    /// A read-write preopen of `host` named `guest` inside the guest.
    pub fn new(host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            guest: guest.into(),
            read_only: false,
        }
    }

    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_inherits_stdio_and_grants_nothing_else() {
        let config = WasiConfig::default();
        assert!(config.inherit_stdio);
        assert!(config.args.is_empty() && config.env.is_empty() && config.preopens.is_empty());
    }

    #[test]
    fn builder_appends_in_order() {
        let config = WasiConfig::new()
            .arg("prog")
            .args(["a", "b"])
            .env("K", "V")
            .preopen(Preopen::new("/tmp", "/").read_only())
            .inherit_stdio(false);
        assert_eq!(config.args, ["prog", "a", "b"]);
        assert_eq!(config.env, [("K".to_string(), "V".to_string())]);
        assert!(config.preopens[0].read_only);
        assert!(!config.inherit_stdio);
    }
}
