//! Behaviours of the optional [`DeadLetterStore`](cogman_core::DeadLetterStore) ability:
//! entries are stored whole, listed newest first in pages, stored once per key, removed one by
//! one and purged.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use cogman_core::NewDeadLetter;

use crate::fixture::offered;
use crate::sample;
use crate::{LogFactory, LogFixture as _};

fn malformed(i: u32, now: DateTime<Utc>) -> NewDeadLetter {
    NewDeadLetter {
        key: Some(format!("message-{i}")),
        task_id: None,
        task: None,
        name: None,
        queue: Some("low_priority_queue_0".into()),
        reason: format!("malformed: header cogman-name is missing ({i})"),
        dead_lettered_at: now - TimeDelta::seconds(i64::from(i)),
        headers: BTreeMap::from([("cogman-version".to_owned(), "1".to_owned())]),
        body: vec![0, 159, 146, 150, 255],
    }
}

/// Stored entries read back whole, newest first, in pages; a second entry with the same key is
/// not stored again; removing and purging delete what they say.
pub async fn dead_letters_store_list_remove_and_purge(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(store) = offered(
        log.dead_letter_store(),
        "dead_letters_store_list_remove_and_purge",
        "dead-letter store",
    ) else {
        return;
    };
    let now = sample::now_ms();
    let mut task = sample::rich_task("conformance.dead");
    task.fail_error = None;
    let mut poison =
        NewDeadLetter::for_task(&task, Some("high_priority_queue_1".into()), "poison: 10");
    poison.dead_lettered_at = now;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            store
                .add_dead_letter(&malformed(i, now))
                .await
                .expect("add"),
        );
    }
    let poison_id = store.add_dead_letter(&poison).await.expect("add poison");
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]) && ids[2] < poison_id,
        "ids grow: {ids:?} {poison_id}"
    );
    let again = store
        .add_dead_letter(&malformed(1, now))
        .await
        .expect("add again");
    assert_eq!(again, ids[1], "a known key answers the stored entry's id");

    let first = store.dead_letters(None, 3).await.expect("list");
    let listed: Vec<u64> = first.items.iter().map(|d| d.id).collect();
    assert_eq!(
        listed,
        vec![poison_id, ids[2], ids[1]],
        "newest first, no duplicate"
    );
    assert_eq!(first.items[0].entry, poison, "stored whole (with the task)");
    assert_eq!(
        first.items[1].entry,
        malformed(2, now),
        "stored whole (without a task)"
    );
    let rest = store
        .dead_letters(first.next_before, 3)
        .await
        .expect("second page");
    assert_eq!(
        rest.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    assert_eq!(rest.next_before, None, "the last page says so");

    let one = store.dead_letter(ids[0]).await.expect("get");
    assert_eq!(one.map(|d| d.entry), Some(malformed(0, now)));
    assert!(store.remove_dead_letter(ids[0]).await.expect("remove"));
    assert!(
        !store
            .remove_dead_letter(ids[0])
            .await
            .expect("remove again")
    );
    assert_eq!(store.dead_letter(ids[0]).await.expect("get removed"), None);
    assert_eq!(store.purge_dead_letters().await.expect("purge"), 3);
    assert!(
        store
            .dead_letters(None, 10)
            .await
            .expect("list")
            .items
            .is_empty()
    );
}
