//! Behaviours of the optional [`LimitStore`](cogman_core::LimitStore) ability: limits are
//! stored, listed and removed; the rate admits its burst, then reserves later starts one
//! interval apart (a holder waits for its own reservation and spends it once); the concurrency
//! admits at most N holders at once, gives a slot back on release or when a lease runs out;
//! and many concurrent acquirers never get more than the concurrency.

use std::sync::Arc;
use std::time::Duration;

use cogman_core::{Admission, Rate, TaskLimit, WaitReason};

use crate::fixture::offered;
use crate::wait::wait_until;
use crate::{LogFactory, LogFixture as _};

fn limit(name: &str, rate: Option<Rate>, concurrency: Option<u32>) -> TaskLimit {
    TaskLimit {
        name: name.to_owned(),
        rate,
        concurrency,
        per_key: false,
    }
}

const LEASE: Duration = Duration::from_secs(60);

/// Put, list (by name), replace, remove.
pub async fn limits_put_list_remove(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(store) = offered(log.limit_store(), "limits_put_list_remove", "limit store") else {
        return;
    };
    assert!(store.limits().await.expect("list").is_empty());
    let mail = limit("mail.send", Some("20/s".parse().expect("rate")), Some(3));
    let report = limit("report", None, Some(1));
    store.put_limit(&report).await.expect("put");
    store.put_limit(&mail).await.expect("put");
    assert_eq!(
        store.limits().await.expect("list"),
        [mail.clone(), report.clone()]
    );
    let mut replaced = mail.clone();
    replaced.per_key = true;
    replaced.concurrency = None;
    store.put_limit(&replaced).await.expect("replace");
    assert_eq!(
        store.limits().await.expect("list"),
        [replaced, report.clone()]
    );
    assert!(store.remove_limit("mail.send").await.expect("remove"));
    assert!(!store.remove_limit("mail.send").await.expect("remove again"));
    assert_eq!(store.limits().await.expect("list"), [report]);
}

/// A rate of 1/s with a burst of 2: two start at once, the third is reserved about 1 s later
/// and the fourth about 2 s; asking again before its time waits, after it starts. (A second
/// per task leaves room for slow round trips: at 10/s a loaded machine took longer than the
/// 100 ms between two slots, and the third was rightly admitted.)
pub async fn limits_rate_admits_the_burst_then_reserves(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(store) = offered(
        log.limit_store(),
        "limits_rate_admits_the_burst_then_reserves",
        "limit store",
    ) else {
        return;
    };
    let mut rate: Rate = "1/s".parse().expect("rate");
    rate.burst = 2;
    let l = limit("rated", Some(rate), None);
    for holder in ["a", "b"] {
        assert_eq!(
            store
                .acquire("rated", &l, holder, LEASE)
                .await
                .expect("acquire"),
            Admission::Admitted,
            "{holder} is within the burst"
        );
    }
    let wait_of = |answer: Admission| match answer {
        Admission::Wait {
            after,
            reason: WaitReason::Rate,
        } => after,
        other => panic!("expected a rate wait, got {other:?}"),
    };
    let c = wait_of(
        store
            .acquire("rated", &l, "c", LEASE)
            .await
            .expect("acquire"),
    );
    let d = wait_of(
        store
            .acquire("rated", &l, "d", LEASE)
            .await
            .expect("acquire"),
    );
    assert!(c <= Duration::from_secs(1), "{c:?}");
    assert!(d > c && d <= Duration::from_secs(2), "{c:?} then {d:?}");
    // Asking again before its time: still its own reservation, not a new one.
    let again = wait_of(
        store
            .acquire("rated", &l, "d", LEASE)
            .await
            .expect("acquire"),
    );
    assert!(again <= d, "{again:?} after {d:?}");
    let store = Arc::clone(&log);
    wait_until(
        "the reservation of d to come",
        Duration::from_secs(10),
        || {
            let store = Arc::clone(&store);
            async move {
                store
                    .limit_store()
                    .expect("offered")
                    .acquire("rated", &limit("rated", Some(rate), None), "d", LEASE)
                    .await
                    .expect("acquire")
                    == Admission::Admitted
            }
        },
    )
    .await
    .expect("d starts at its reserved time");
}

/// A concurrency of 2: a third holder waits; a release gives its slot back; a lease that runs
/// out gives its slot back; a holder asking again is not counted twice.
pub async fn limits_concurrency_holds_leases(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(store) = offered(
        log.limit_store(),
        "limits_concurrency_holds_leases",
        "limit store",
    ) else {
        return;
    };
    let l = limit("busy", None, Some(2));
    let admitted = |a: Admission| a == Admission::Admitted;
    assert!(admitted(
        store.acquire("busy", &l, "a", LEASE).await.expect("a")
    ));
    assert!(admitted(
        store
            .acquire("busy", &l, "a", LEASE)
            .await
            .expect("a again")
    ));
    assert!(admitted(
        store
            .acquire("busy", &l, "b", Duration::from_millis(300))
            .await
            .expect("b")
    ));
    assert!(matches!(
        store.acquire("busy", &l, "c", LEASE).await.expect("c"),
        Admission::Wait {
            reason: WaitReason::Concurrency,
            ..
        }
    ));
    store.renew("busy", "a", LEASE).await.expect("renew");
    // b's short lease runs out (a killed worker): its slot comes back.
    let log2 = Arc::clone(&log);
    wait_until("b's lease to run out", Duration::from_secs(5), || {
        let log = Arc::clone(&log2);
        async move {
            log.limit_store()
                .expect("offered")
                .acquire("busy", &limit("busy", None, Some(2)), "c", LEASE)
                .await
                .expect("c")
                == Admission::Admitted
        }
    })
    .await
    .expect("c takes b's slot");
    assert!(!admitted(
        store.acquire("busy", &l, "d", LEASE).await.expect("d")
    ));
    store.release("busy", "a").await.expect("release");
    assert!(admitted(
        store
            .acquire("busy", &l, "d", LEASE)
            .await
            .expect("d after release")
    ));
}

/// 20 holders ask at once for a concurrency of 3: exactly 3 are admitted.
pub async fn limits_concurrent_acquirers_respect_the_concurrency(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    if offered(
        log.limit_store(),
        "limits_concurrent_acquirers_respect_the_concurrency",
        "limit store",
    )
    .is_none()
    {
        return;
    }
    let asks = (0..20).map(|i| {
        let log = Arc::clone(&log);
        async move {
            log.limit_store()
                .expect("offered")
                .acquire(
                    "race",
                    &limit("race", None, Some(3)),
                    &format!("h{i}"),
                    LEASE,
                )
                .await
                .expect("acquire")
        }
    });
    let answers = futures::future::join_all(asks).await;
    let admitted = answers
        .iter()
        .filter(|a| **a == Admission::Admitted)
        .count();
    assert_eq!(admitted, 3, "{answers:?}");
}
