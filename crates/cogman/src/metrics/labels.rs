//! The task-name label with a bound on its distinct values ([`NameLabels`]), so a stream of
//! made-up task names cannot grow a registry without end, and the histogram bucket layouts.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// Most distinct task names a registry keeps as label values; later names share
/// [`OTHER_NAMES`].
pub const MAX_TASK_NAMES: usize = 500;

/// The label value of every task name past [`MAX_TASK_NAMES`].
pub const OTHER_NAMES: &str = "_other";

/// The task names seen so far, up to a bound.
#[derive(Debug)]
pub struct NameLabels {
    max: usize,
    seen: Mutex<HashSet<String>>,
}

impl Default for NameLabels {
    fn default() -> Self {
        NameLabels::new(MAX_TASK_NAMES)
    }
}

impl NameLabels {
    /// A set that keeps at most `max` distinct names.
    pub fn new(max: usize) -> Self {
        NameLabels {
            max,
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// The label value for `name`: the name itself while it is one of the first `max` distinct
    /// names seen, else [`OTHER_NAMES`].
    pub fn label(&self, name: &str) -> String {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(name) {
            name.to_owned()
        } else if seen.len() < self.max {
            seen.insert(name.to_owned());
            name.to_owned()
        } else {
            OTHER_NAMES.to_owned()
        }
    }
}

/// Buckets for handler run times: 1 ms to about 9 minutes, doubling.
pub fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

/// Buckets for waiting times (enqueue to start): 1 ms to about 2.3 hours, doubling.
pub fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_past_the_bound_share_one_label() {
        let names = NameLabels::new(2);
        assert_eq!(names.label("a"), "a");
        assert_eq!(names.label("b"), "b");
        assert_eq!(names.label("c"), OTHER_NAMES);
        assert_eq!(names.label("a"), "a", "a name seen before keeps its label");
    }
}
