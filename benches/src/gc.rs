//! Garbage collection: binary-trees (Wasm 3.0 structs) on wasmtier's
//! compiled tiers against wasmtime's collector, interleaved: wall time,
//! the ratio to wasmtime round by round, peak RSS, and the longest pause
//! each run measured itself (its slowest depth-4 tree: a collection lands
//! inside one of those 2^n iterations, which otherwise take microseconds).

use crate::report::{Cell, Row, ratio_spread};

/// The report's section (markdown) for the binary-trees row.
pub fn section(row: &Row, args: &[&str], runs: usize) -> String {
    let mut out = format!(
        "\n## Garbage collection: binary-trees\n\n`benches/workloads/binarytrees.wat {}` \
         (native reference: `binarytrees.c`, malloc/free), {runs} interleaved rounds, whole \
         processes. The ratio is each round's time over wasmtime's in the same round \
         (median and range); the pause is the longest depth-4 tree of each run (median and \
         range over runs).\n\n\
         | runner | time (s) | vs wasmtime | peak RSS (MiB) | longest pause (ms) |\n\
         | --- | --- | --- | --- | --- |\n",
        args.join(" ")
    );
    let wasmtime = row.get("wasmtime").and_then(|c| c.as_ref().ok());
    for (name, cell) in row {
        match cell {
            Ok(cell) => {
                let ratio = wasmtime
                    .and_then(|peer| ratio_spread(cell, peer))
                    .unwrap_or_else(|| "—".into());
                out.push_str(&format!(
                    "| {name} | {:.3} | {ratio} | {:.1} | {} |\n",
                    cell.median.as_secs_f64(),
                    cell.max_rss_kib as f64 / 1024.0,
                    pauses(cell)
                ));
            }
            Err(why) => out.push_str(&format!("| {name} | failed: {why} | | | |\n")),
        }
    }
    out
}

fn pauses(cell: &Cell) -> String {
    let mut ms: Vec<f64> = cell
        .pauses_us
        .iter()
        .map(|&us| us as f64 / 1000.0)
        .collect();
    if ms.is_empty() {
        return "—".into();
    }
    ms.sort_by(f64::total_cmp);
    format!(
        "{:.2} ({:.2}–{:.2})",
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1]
    )
}
