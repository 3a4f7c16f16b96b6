//! [`ProcessCollector`]: the usual `process_*` metrics of this process (CPU time, resident
//! memory, threads, open files, start time), read from `/proc` at each scrape on Linux; on
//! other systems it reports nothing.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// Reads the process's own figures on each scrape.
#[derive(Debug, Default)]
pub(crate) struct ProcessCollector {
    /// Seconds since the epoch the process started at, read once.
    start_time: Option<f64>,
}

/// One reading of `/proc/self`.
#[derive(Debug, Default, PartialEq)]
struct Reading {
    cpu_seconds: Option<f64>,
    resident_bytes: Option<i64>,
    threads: Option<i64>,
    open_fds: Option<i64>,
}

impl ProcessCollector {
    pub(crate) fn new() -> Self {
        ProcessCollector {
            start_time: linux::start_time(),
        }
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let reading = linux::read();
        if let Some(cpu) = reading.cpu_seconds {
            let counter = ConstCounter::new(cpu);
            counter.encode(encoder.encode_descriptor(
                "process_cpu",
                "User and system CPU time spent by this process",
                Some(&Unit::Seconds),
                counter.metric_type(),
            )?)?;
        }
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory of this process, in bytes",
                reading.resident_bytes,
            ),
            (
                "process_threads",
                "Threads of this process",
                reading.threads,
            ),
            (
                "process_open_fds",
                "Open file descriptors of this process",
                reading.open_fds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let gauge = ConstGauge::new(value);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        if let Some(start) = self.start_time {
            let gauge = ConstGauge::new(start);
            gauge.encode(encoder.encode_descriptor(
                "process_start_time_seconds",
                "When this process started, in seconds since the Unix epoch",
                None,
                gauge.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Reading;

    fn ticks_per_second() -> f64 {
        rustix::param::clock_ticks_per_second() as f64
    }

    /// The fields of `/proc/self/stat` after the command name (field 3 onwards).
    fn stat_fields() -> Option<Vec<String>> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        Some(rest.split_whitespace().map(str::to_owned).collect())
    }

    pub(super) fn read() -> Reading {
        let cpu_seconds = stat_fields().and_then(|fields| {
            // utime and stime are fields 14 and 15.
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks_per_second())
        });
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<i64>().ok())
        };
        Reading {
            cpu_seconds,
            resident_bytes: field("VmRSS:").map(|kib| kib.saturating_mul(1024)),
            threads: field("Threads:"),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|entries| i64::try_from(entries.count()).unwrap_or(i64::MAX)),
        }
    }

    /// Boot time (`btime` of `/proc/stat`) plus the start of this process after boot (field
    /// 22 of `/proc/self/stat`, in clock ticks).
    pub(super) fn start_time() -> Option<f64> {
        let boot: f64 = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|line| line.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        let after_boot: f64 = stat_fields()?.get(19)?.parse().ok()?;
        Some(boot + after_boot / ticks_per_second())
    }
}

#[cfg(not(target_os = "linux"))]
mod linux {
    use super::Reading;

    pub(super) fn read() -> Reading {
        Reading::default()
    }

    pub(super) fn start_time() -> Option<f64> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_process_reads_itself() {
        let reading = linux::read();
        assert!(reading.resident_bytes.is_some_and(|b| b > 0), "{reading:?}");
        assert!(reading.threads.is_some_and(|t| t >= 1), "{reading:?}");
        assert!(reading.open_fds.is_some_and(|n| n >= 3), "{reading:?}");
        assert!(reading.cpu_seconds.is_some(), "{reading:?}");
        let started = linux::start_time().expect("a start time");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after the epoch")
            .as_secs_f64();
        assert!(
            started <= now + 1.0 && started > now - 86_400.0,
            "{started} vs {now}"
        );
    }
}
