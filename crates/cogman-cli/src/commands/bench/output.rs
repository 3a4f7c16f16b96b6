//! The bench's report: every round's figures for both sides, their medians, and the printed
//! form (a table with cogman, the baseline and their ratio side by side, or JSON).

use anyhow::Result;
use serde::Serialize;

use super::super::report;
use super::BenchShape;
use super::figures::{CogmanFigures, SideFigures};
use crate::table;

/// One round: cogman's figures and the baseline's.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Round {
    cogman: CogmanFigures,
    baseline: SideFigures,
}

/// Everything the bench prints.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    mode: String,
    tasks: usize,
    workers: usize,
    concurrency: u32,
    /// What the baseline does, in one line.
    baseline: String,
    rounds: Vec<Round>,
}

/// The medians and the process-wide figures, as printed.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    report: &'a Report,
    median_cogman: CogmanFigures,
    median_baseline: SideFigures,
    peak_memory_mib: f64,
}

impl Report {
    pub(super) fn new(mode: String, shape: &BenchShape, baseline: String) -> Report {
        Report {
            mode,
            tasks: shape.tasks,
            workers: shape.workers,
            concurrency: shape.concurrency,
            baseline,
            rounds: Vec::new(),
        }
    }

    pub(super) fn add_round(&mut self, cogman: CogmanFigures, baseline: SideFigures) {
        self.rounds.push(Round { cogman, baseline });
    }

    fn summary(&self) -> Summary<'_> {
        let ours: Vec<CogmanFigures> = self.rounds.iter().map(|r| r.cogman.clone()).collect();
        let raw: Vec<SideFigures> = self.rounds.iter().map(|r| r.baseline.clone()).collect();
        Summary {
            report: self,
            median_cogman: CogmanFigures::median(&ours),
            median_baseline: SideFigures::median(&raw),
            peak_memory_mib: report::peak_memory().unwrap_or(0) as f64 / (1024.0 * 1024.0),
        }
    }

    /// Prints the report as a table, or as JSON when `json`.
    pub(super) fn print(&self, json: bool) -> Result<()> {
        let summary = self.summary();
        if json {
            crate::output::outln!("{}", serde_json::to_string_pretty(&summary)?)?;
            return Ok(());
        }
        crate::output::outln!(
            "cogman bench: {} no-op tasks a phase, {} workers x {} concurrency, {}; medians of \
             {} round(s), each running the baseline, then cogman\n",
            self.tasks,
            self.workers,
            self.concurrency,
            self.mode,
            self.rounds.len()
        )?;
        crate::output::outln!("baseline: {}\n", self.baseline)?;
        crate::output::outln!(
            "{}\n",
            table::render(
                &["measure", "cogman", "baseline", "cogman / baseline"],
                &summary.rows()
            )
        )?;
        let per_round: Vec<String> = self
            .rounds
            .iter()
            .map(|r| {
                format!(
                    "{:.0} / {:.0} ({:.2})",
                    r.cogman.side.end_to_end_per_s,
                    r.baseline.end_to_end_per_s,
                    r.cogman.side.end_to_end_per_s / r.baseline.end_to_end_per_s
                )
            })
            .collect();
        crate::output::outln!(
            "end to end per round, cogman / baseline tasks/s: {}",
            per_round.join(", ")
        )?;
        Ok(())
    }
}

impl Summary<'_> {
    fn rows(&self) -> Vec<Vec<String>> {
        let ours = &self.median_cogman;
        let raw = &self.median_baseline;
        let compared = |what: &str, cogman: f64, baseline: f64, unit: &str| {
            vec![
                what.to_owned(),
                format!("{cogman:.0} {unit}"),
                format!("{baseline:.0} {unit}"),
                ratio(cogman, baseline),
            ]
        };
        let alone =
            |what: &str, value: String| vec![what.to_owned(), value, String::new(), String::new()];
        let mut rows = vec![
            compared(
                "enqueue",
                ours.side.enqueue_per_s,
                raw.enqueue_per_s,
                "tasks/s",
            ),
            compared(
                "drain (queue pre-filled)",
                ours.side.drain_per_s,
                raw.drain_per_s,
                "tasks/s",
            ),
            compared(
                "end to end",
                ours.side.end_to_end_per_s,
                raw.end_to_end_per_s,
                "tasks/s",
            ),
            vec![
                "task log alone (4 writes a task)".into(),
                format!("{:.0} tasks/s", ours.log_alone_per_s),
                String::new(),
                format!(
                    "{} of baseline end to end",
                    ratio(ours.log_alone_per_s, raw.end_to_end_per_s)
                ),
            ],
        ];
        for ((label, cogman), (_, baseline)) in
            ours.side.cpu_us_per_task.iter().zip(&raw.cpu_us_per_task)
        {
            rows.push(vec![
                format!("CPU µs per task end to end, {label}"),
                format!("{cogman:.1}"),
                format!("{baseline:.1}"),
                ratio(*cogman, *baseline),
            ]);
        }
        rows.push(alone(
            "latency p50 / p99, no backlog",
            format!("{:.1} / {:.1} ms", ours.idle_p50_ms, ours.idle_p99_ms),
        ));
        rows.push(alone(
            "latency p50 / p99, end to end run",
            format!("{:.1} / {:.1} ms", ours.loaded_p50_ms, ours.loaded_p99_ms),
        ));
        rows.push(alone(
            "peak memory (whole bench process)",
            format!("{:.1} MiB", self.peak_memory_mib),
        ));
        rows
    }
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 {
        format!("{:.2}", ours / theirs)
    } else {
        "-".into()
    }
}
