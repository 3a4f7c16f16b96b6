//! Behaviours of the optional [`QueuePauses`](cogman_core::QueuePauses) ability: pausing is
//! stored, listed by name and idempotent (a second pause keeps the first `since`), resuming
//! removes it, and each call says whether it changed anything.

use chrono::{TimeDelta, Utc};

use crate::fixture::offered;
use crate::{LogFactory, LogFixture as _};

/// Pause two queues, pause one again, resume one, resume it again: the list follows each step.
pub async fn queue_pauses_pause_list_resume(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(pauses) = offered(
        log.queue_pauses(),
        "queue_pauses_pause_list_resume",
        "queue pauses",
    ) else {
        return;
    };
    assert!(pauses.paused_queues().await.expect("list").is_empty());
    let before = Utc::now() - TimeDelta::seconds(5);
    assert!(pauses.set_queue_paused("mail", true).await.expect("pause"));
    assert!(
        pauses
            .set_queue_paused("bulk.export", true)
            .await
            .expect("pause")
    );
    let first = pauses.paused_queues().await.expect("list");
    let names: Vec<&str> = first.iter().map(|p| p.queue.as_str()).collect();
    assert_eq!(names, ["bulk.export", "mail"]);
    assert!(
        first
            .iter()
            .all(|p| p.since >= before && p.since <= Utc::now() + TimeDelta::seconds(5))
    );

    assert!(
        !pauses
            .set_queue_paused("mail", true)
            .await
            .expect("pause again"),
        "pausing a paused queue changes nothing"
    );
    assert_eq!(pauses.paused_queues().await.expect("list"), first);

    assert!(
        pauses
            .set_queue_paused("mail", false)
            .await
            .expect("resume")
    );
    assert!(
        !pauses
            .set_queue_paused("mail", false)
            .await
            .expect("resume again")
    );
    let names: Vec<String> = pauses
        .paused_queues()
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.queue)
        .collect();
    assert_eq!(names, ["bulk.export"]);
}
