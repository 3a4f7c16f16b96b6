//! Measures how `record` scales with concurrency on one `RedisLog`: the same number of state
//! changes sent one at a time, then with many in flight (the multiplexed connection pipelines
//! concurrent calls, so they do not wait for each other's round trips). Not a test: numbers
//! depend on the machine. Uses a scratch namespace that is deleted at the end:
//!
//! ```text
//! cargo run -p cogman-redis --example concurrent_records -- [redis-uri] [tasks]
//! ```

use std::time::Instant;

use cogman_core::{StateChange, Task, TaskLog, TaskSpec, TaskState};
use cogman_redis::{RedisConfig, RedisLog};
use futures::StreamExt as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let uri = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".to_owned());
    let tasks: usize = args.next().map_or(Ok(2000), |a| a.parse())?;
    let namespace = format!("cogman-bench:{}", uuid::Uuid::now_v7().simple());
    let log = RedisLog::connect(RedisConfig::new(uri.clone()).namespace(namespace.clone())).await?;
    println!("{tasks} tasks, 3 records each");
    for in_flight in [1, 8, 64, 256] {
        let batch: Vec<Task> = (0..tasks)
            .map(|_| Task::from_spec(TaskSpec::new("bench", vec![7; 64]), chrono::Utc::now()))
            .collect();
        futures::stream::iter(&batch)
            .map(|task| log.create(task))
            .buffer_unordered(256)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let changes: Vec<StateChange> =
            [TaskState::Queued, TaskState::InProgress, TaskState::Success]
                .into_iter()
                .flat_map(|state| batch.iter().map(move |t| StateChange::new(t.id, state)))
                .collect();
        let started = Instant::now();
        futures::stream::iter(&changes)
            .map(|change| log.record(change))
            .buffer_unordered(in_flight)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let elapsed = started.elapsed();
        println!(
            "{in_flight:>4} in flight: {:>8.0} records/s",
            changes.len() as f64 / elapsed.as_secs_f64()
        );
    }
    drop(cogman_testkit::servers::SharedCleanup::new().redis_namespace(&uri, &namespace));
    Ok(())
}
