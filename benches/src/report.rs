//! Markdown tables from measurements.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::runners::{Runner, Tier};

/// One (workload, runner) result.
pub struct Cell {
    pub median: Duration,
    pub max_rss_kib: u64,
    /// Every measured run's wall time, by round: the same index in two
    /// cells of a row is two runs made moments apart.
    pub walls: Vec<Duration>,
    /// The longest pause each run measured itself, by round (workloads
    /// that print `max pause: N us`; empty for the others).
    pub pauses_us: Vec<u64>,
}

/// `mine` over `other`, round by round.
fn round_ratios(mine: &Cell, other: &Cell) -> Vec<f64> {
    mine.walls
        .iter()
        .zip(&other.walls)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect()
}

/// The median of `values` and their range, e.g. `0.97× (0.91–1.04)`.
fn spread(mut values: Vec<f64>) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some((
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    ))
}

fn show_spread((median, low, high): (f64, f64, f64)) -> String {
    format!("{median:.2}× ({low:.2}–{high:.2})")
}

/// `mine` over `other` round by round, as `0.97× (0.91–1.04)`.
pub fn ratio_spread(mine: &Cell, other: &Cell) -> Option<String> {
    spread(round_ratios(mine, other)).map(show_spread)
}

/// One workload's results by runner name; an error says why a run failed.
pub type Row = BTreeMap<String, Result<Cell, String>>;

/// Results by workload, then by runner name (in runner order).
pub struct Table {
    /// Name, tier, and whether it is a peer (not one of ours).
    pub runners: Vec<(String, Tier, bool)>,
    pub rows: Vec<(String, Row)>,
}

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

impl Table {
    /// An empty table with a column per runner.
    pub fn for_runners<'a>(runners: impl IntoIterator<Item = &'a Runner>) -> Self {
        Self {
            runners: runners
                .into_iter()
                .map(|r| (r.name.clone(), r.tier, r.is_peer))
                .collect(),
            rows: Vec::new(),
        }
    }

    fn fastest_peer<'a>(&'a self, cells: &'a Row, tier: Tier) -> Option<(&'a str, &'a Cell)> {
        self.runners
            .iter()
            .filter(|(_, t, is_peer)| *is_peer && *t == tier)
            .filter_map(|(name, _, _)| match cells.get(name) {
                Some(Ok(cell)) => Some((name.as_str(), cell)),
                _ => None,
            })
            .min_by_key(|(_, cell)| cell.median)
    }

    /// Median wall time per runner, then each wasmtier engine's ratio to the
    /// fastest peer of its tier and to native code.
    pub fn render_times(&self) -> String {
        let mut out = String::from("| workload |");
        for (name, _, _) in &self.runners {
            write!(out, " {name} |").unwrap();
        }
        let ours: Vec<_> = self.runners.iter().filter(|(_, _, peer)| !peer).collect();
        for (name, _, _) in &ours {
            write!(out, " {name} vs peer | {name} vs native |").unwrap();
        }
        out.push('\n');
        out.push_str(&"| --- ".repeat(1 + self.runners.len() + 2 * ours.len()));
        out.push_str("|\n");
        for (workload, cells) in &self.rows {
            write!(out, "| {workload} |").unwrap();
            for (name, _, _) in &self.runners {
                match cells.get(name) {
                    Some(Ok(cell)) => write!(out, " {} |", seconds(cell.median)).unwrap(),
                    Some(Err(_)) => out.push_str(" failed |"),
                    None => out.push_str(" – |"),
                }
            }
            for (name, tier, _) in &ours {
                let Some(Ok(mine)) = cells.get(name) else {
                    out.push_str(" – | – |");
                    continue;
                };
                let peer = self.fastest_peer(cells, *tier);
                match peer
                    .and_then(|(name, theirs)| Some((name, spread(round_ratios(mine, theirs))?)))
                {
                    Some((name, s)) => write!(out, " {} {name} |", show_spread(s)).unwrap(),
                    None => out.push_str(" – |"),
                }
                let native = self.fastest_peer(cells, Tier::Native);
                match native.and_then(|(_, theirs)| spread(round_ratios(mine, theirs))) {
                    Some((median, _, _)) => write!(out, " {median:.2}× |").unwrap(),
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
        out
    }

    /// For each wasmtier engine and each peer of its tier: the geometric
    /// mean of the wall-time ratios over the workloads both ran (rows with
    /// native code: the generated modules are start-up rows, shown above),
    /// computed per round, as the median round and the range of rounds;
    /// and the workload where the engine fares worst.
    /// Only the rows `counts` accepts (by workload name) take part.
    pub fn render_geometric_means(&self, counts: impl Fn(&str) -> bool) -> String {
        let mut out = String::from(
            "| wasmtier engine | peer | geometric mean (range over rounds) | workloads | worst workload |\n| --- | --- | --- | --- | --- |\n",
        );
        let workloads: Vec<&(String, Row)> = self
            .rows
            .iter()
            .filter(|(workload, cells)| {
                counts(workload)
                    && self.runners.iter().any(|(name, tier, _)| {
                        *tier == Tier::Native && matches!(cells.get(name), Some(Ok(_)))
                    })
            })
            .collect();
        for (mine, tier, _) in self.runners.iter().filter(|(_, _, peer)| !peer) {
            for (peer, _, _) in self
                .runners
                .iter()
                .filter(|(_, t, is_peer)| *is_peer && t == tier)
            {
                let mut per_workload = Vec::new();
                for (workload, cells) in &workloads {
                    if let (Some(Ok(a)), Some(Ok(b))) = (cells.get(mine), cells.get(peer)) {
                        per_workload.push((workload.as_str(), round_ratios(a, b)));
                    }
                }
                if per_workload.is_empty() {
                    continue;
                }
                let rounds = per_workload.iter().map(|(_, r)| r.len()).min().unwrap_or(0);
                let means: Vec<f64> = (0..rounds)
                    .map(|round| {
                        let logs: f64 = per_workload.iter().map(|(_, r)| r[round].ln()).sum();
                        (logs / per_workload.len() as f64).exp()
                    })
                    .collect();
                let worst = per_workload
                    .iter()
                    .filter_map(|(w, r)| spread(r.clone()).map(|s| (*w, s)))
                    .max_by(|a, b| a.1.0.total_cmp(&b.1.0));
                let Some(mean) = spread(means) else { continue };
                write!(
                    out,
                    "| {mine} | {peer} | {} | {} |",
                    show_spread(mean),
                    per_workload.len()
                )
                .unwrap();
                match worst {
                    Some((w, s)) => writeln!(out, " {w}: {} |", show_spread(s)).unwrap(),
                    None => out.push_str(" – |\n"),
                }
            }
        }
        out
    }

    /// Peak RSS per runner, in MiB.
    pub fn render_rss(&self) -> String {
        self.render_rss_with(1)
    }

    /// Peak RSS per runner, in MiB with two decimals (for small footprints).
    pub fn render_rss_precise(&self) -> String {
        self.render_rss_with(2)
    }

    fn render_rss_with(&self, decimals: usize) -> String {
        let mut out = String::from("| workload |");
        for (name, _, _) in &self.runners {
            write!(out, " {name} |").unwrap();
        }
        out.push('\n');
        out.push_str(&"| --- ".repeat(1 + self.runners.len()));
        out.push_str("|\n");
        for (workload, cells) in &self.rows {
            write!(out, "| {workload} |").unwrap();
            for (name, _, _) in &self.runners {
                match cells.get(name) {
                    Some(Ok(cell)) => {
                        write!(out, " {:.*} |", decimals, cell.max_rss_kib as f64 / 1024.0).unwrap()
                    }
                    Some(Err(_)) => out.push_str(" failed |"),
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
        out
    }

    /// Every failure, for the notes under the tables.
    pub fn failures(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for (workload, cells) in &self.rows {
            for (runner, cell) in cells {
                if let Err(why) = cell {
                    notes.push(format!("{workload} on {runner}: {why}"));
                }
            }
        }
        notes
    }
}
