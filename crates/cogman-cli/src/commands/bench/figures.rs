//! What one round measures on each side, and the medians over rounds.

use std::time::Duration;

use serde::Serialize;

/// Rates and CPU split measured on one side (cogman or the baseline) in one round.
#[derive(Debug, Clone, Serialize)]
pub(super) struct SideFigures {
    /// Enqueue with no consumer, tasks per second.
    pub(super) enqueue_per_s: f64,
    /// Drain of the pre-filled queue, tasks per second.
    pub(super) drain_per_s: f64,
    /// Producer and consumers at once, tasks per second.
    pub(super) end_to_end_per_s: f64,
    /// CPU microseconds per task in the end-to-end phase: this process, then each server.
    pub(super) cpu_us_per_task: Vec<(String, f64)>,
}

/// What only cogman's side measures, next to the figures both sides share.
#[derive(Debug, Clone, Serialize)]
pub(super) struct CogmanFigures {
    #[serde(flatten)]
    pub(super) side: SideFigures,
    /// The four status writes of a task's life through the log alone, tasks per second.
    pub(super) log_alone_per_s: f64,
    pub(super) loaded_p50_ms: f64,
    pub(super) loaded_p99_ms: f64,
    pub(super) idle_p50_ms: f64,
    pub(super) idle_p99_ms: f64,
}

/// `n` per `elapsed`, per second.
pub(super) fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The median of the values `f` picks from `rounds` (the mean of the middle two when even).
fn median<T>(rounds: &[T], f: impl Fn(&T) -> f64) -> f64 {
    let mut values: Vec<f64> = rounds.iter().map(f).collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        len if len % 2 == 1 => values[len / 2],
        len => (values[len / 2 - 1] + values[len / 2]) / 2.0,
    }
}

impl SideFigures {
    /// Field by field medians of `rounds` (every round has the same CPU labels).
    pub(super) fn median(rounds: &[SideFigures]) -> SideFigures {
        let labels = rounds
            .first()
            .map(|r| {
                r.cpu_us_per_task
                    .iter()
                    .map(|(l, _)| l.clone())
                    .collect::<Vec<String>>()
            })
            .unwrap_or_default();
        SideFigures {
            enqueue_per_s: median(rounds, |r| r.enqueue_per_s),
            drain_per_s: median(rounds, |r| r.drain_per_s),
            end_to_end_per_s: median(rounds, |r| r.end_to_end_per_s),
            cpu_us_per_task: labels
                .into_iter()
                .enumerate()
                .map(|(i, label)| {
                    let value = median(rounds, |r| r.cpu_us_per_task.get(i).map_or(0.0, |c| c.1));
                    (label, value)
                })
                .collect(),
        }
    }
}

impl CogmanFigures {
    /// Field by field medians of `rounds`.
    pub(super) fn median(rounds: &[CogmanFigures]) -> CogmanFigures {
        let sides: Vec<SideFigures> = rounds.iter().map(|r| r.side.clone()).collect();
        CogmanFigures {
            side: SideFigures::median(&sides),
            log_alone_per_s: median(rounds, |r| r.log_alone_per_s),
            loaded_p50_ms: median(rounds, |r| r.loaded_p50_ms),
            loaded_p99_ms: median(rounds, |r| r.loaded_p99_ms),
            idle_p50_ms: median(rounds, |r| r.idle_p50_ms),
            idle_p99_ms: median(rounds, |r| r.idle_p99_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(e2e: f64, cpu: f64) -> SideFigures {
        SideFigures {
            enqueue_per_s: 1.0,
            drain_per_s: 2.0,
            end_to_end_per_s: e2e,
            cpu_us_per_task: vec![("this process".into(), cpu)],
        }
    }

    #[test]
    fn medians_are_taken_field_by_field() {
        let odd = SideFigures::median(&[side(3.0, 30.0), side(1.0, 20.0), side(2.0, 10.0)]);
        assert_eq!(odd.end_to_end_per_s, 2.0);
        assert_eq!(odd.cpu_us_per_task, vec![("this process".to_owned(), 20.0)]);
        let even = SideFigures::median(&[side(4.0, 1.0), side(2.0, 3.0)]);
        assert_eq!(even.end_to_end_per_s, 3.0);
        assert_eq!(even.cpu_us_per_task[0].1, 2.0);
    }
}
