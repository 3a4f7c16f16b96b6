//! Unique keys ([`TaskLog::create_unique`], [`TaskLog::release_unique`]): one winner among
//! concurrent claims, release by the holder only, and expiry of keys held for a fixed time.

use std::sync::Arc;
use std::time::Duration;

use cogman_core::{Claim, TaskLog, TaskSpec, UniqueKey};

use super::must_get;
use crate::sample;
use crate::wait::wait_until;
use crate::{LogFactory, LogFixture as _};

/// Concurrent claims of one key.
const CLAIMS: usize = 50;

/// A key no other test (nor an earlier run against the same server) uses.
fn fresh_key(what: &str) -> String {
    format!("conformance.unique.{what}.{}", cogman_core::TaskId::new())
}

/// A first attempt carrying `key` "until finished", as `Client::send_task` builds it.
fn unique_task(key: &str) -> cogman_core::Task {
    cogman_core::Task::from_spec(
        TaskSpec::new("conformance.unique", b"u".to_vec()).unique_key(key),
        sample::now_ms(),
    )
}

/// Claims `key` for a new task, failing the test on an error.
async fn claim(log: &dyn TaskLog, key: &UniqueKey) -> (cogman_core::Task, Claim) {
    let task = unique_task(&key.key);
    let claim = log
        .create_unique(&task, key)
        .await
        .unwrap_or_else(|err| panic!("create_unique {}: {err}", key.key));
    (task, claim)
}

/// 50 claims of one key at the same time: exactly one creates its task, every other is told
/// that task holds the key, and none of the others is recorded.
pub async fn unique_concurrent_claims_create_exactly_one_task(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let key = UniqueKey {
        key: fresh_key("race"),
        hold: None,
    };
    let mut claims = tokio::task::JoinSet::new();
    for _ in 0..CLAIMS {
        let (log, key) = (Arc::clone(&log), key.clone());
        claims.spawn(async move { claim(&*log, &key).await });
    }
    let mut results = Vec::new();
    while let Some(joined) = claims.join_next().await {
        results.push(joined.expect("a claimer panicked"));
    }
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, c)| *c == Claim::Created)
        .map(|(t, _)| t.clone())
        .collect();
    assert_eq!(winners.len(), 1, "exactly one claim creates its task");
    let winner = &winners[0];
    must_get(&*log, winner).await;
    for (task, claim) in &results {
        if task.id == winner.id {
            continue;
        }
        assert_eq!(*claim, Claim::Held { by: winner.id });
        assert_eq!(
            log.get(task.id).await.expect("get"),
            None,
            "a duplicate is not recorded"
        );
    }
}

/// A key held "until finished" stays held until its holder releases it; a release by any
/// other task changes nothing; other keys are independent.
pub async fn unique_key_is_released_by_its_holder_only(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let key = UniqueKey {
        key: fresh_key("release"),
        hold: None,
    };
    let (first, claimed) = claim(&*log, &key).await;
    assert_eq!(claimed, Claim::Created);
    let (second, again) = claim(&*log, &key).await;
    assert_eq!(again, Claim::Held { by: first.id });

    let other = UniqueKey {
        key: fresh_key("other"),
        hold: None,
    };
    assert_eq!(claim(&*log, &other).await.1, Claim::Created);

    log.release_unique(&key.key, second.id)
        .await
        .expect("release by a non-holder");
    assert_eq!(claim(&*log, &key).await.1, Claim::Held { by: first.id });

    log.release_unique(&key.key, first.id)
        .await
        .expect("release by the holder");
    let (third, after) = claim(&*log, &key).await;
    assert_eq!(after, Claim::Created, "a released key is free");
    must_get(&*log, &third).await;
    // Releasing again (a replayed release) does not free the new holder's key.
    log.release_unique(&key.key, first.id)
        .await
        .expect("release replayed");
    assert_eq!(claim(&*log, &key).await.1, Claim::Held { by: third.id });
}

/// A key held for a fixed time is held for that time whatever its holder does (a release
/// leaves it), and is free once the time is up.
pub async fn unique_key_held_for_a_time_expires(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let key = UniqueKey {
        key: fresh_key("expiry"),
        hold: Some(Duration::from_millis(400)),
    };
    let (first, claimed) = claim(&*log, &key).await;
    assert_eq!(claimed, Claim::Created);
    log.release_unique(&key.key, first.id)
        .await
        .expect("release of a timed key");
    assert_eq!(claim(&*log, &key).await.1, Claim::Held { by: first.id });

    let log2 = Arc::clone(&log);
    let key2 = key.clone();
    wait_until(
        "the timed key to expire",
        Duration::from_secs(10),
        move || {
            let (log, key) = (Arc::clone(&log2), key2.clone());
            async move { claim(&*log, &key).await.1 == Claim::Created }
        },
    )
    .await
    .expect("a key held for 400 ms is free within 10 s");
    assert!(
        matches!(claim(&*log, &key).await.1, Claim::Held { by } if by != first.id),
        "the new claim holds the key"
    );
}
