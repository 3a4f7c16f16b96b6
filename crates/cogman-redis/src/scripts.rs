//! The Lua scripts: `write` (a batch of creates and state changes, each under the transition
//! rule; see [`crate::writer`]), `page` (one page of an index in list order), `purge`, and
//! `claim` and `release` of unique keys (see [`crate::unique`]), and `note` (a history note,
//! see [`crate::note`]). The
//! `claim` and `release` of unique keys (see [`crate::unique`]), and the schedule scripts
//! `lease`, `claim_slot`, `record_slot` and `pause_schedule` (see [`crate::schedules`]). The
//! write and purge scripts are the shared prelude (`lua/prelude.lua`: the rank table and the
//! index names) followed by their body, so the rank table exists once in Lua and mirrors
//! [`cogman_core::TaskState::rank`] (checked by a test below).

use redis::Script;

use crate::record;

const PRELUDE: &str = include_str!("lua/prelude.lua");

/// The read and purge scripts (Redis caches scripts by SHA; `invoke_async` loads them on
/// `NOSCRIPT`).
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) page: Script,
    pub(crate) purge: Script,
    /// `lua/claim_attempt.lua` (see [`crate::attempts`]).
    pub(crate) claim_attempt: Script,
    /// Claims a unique key (`lua/claim.lua`).
    pub(crate) claim: Script,
    /// Releases a unique key held by a given value (`lua/release.lua`).
    pub(crate) release: Script,
    /// Appends a history note (`lua/note.lua`; see [`crate::note`]).
    pub(crate) note: Script,
    /// Admits a task under a limit (`lua/acquire.lua`, see [`crate::limits`]).
    pub(crate) acquire: Script,
    /// Extends a limit lease (`lua/renew_lease.lua`).
    pub(crate) renew_lease: Script,
    /// Takes or renews a lease (`lua/lease.lua`).
    pub(crate) lease: Script,
    /// Claims a schedule's slot once (`lua/claim_slot.lua`).
    pub(crate) claim_slot: Script,
    /// Records a claimed slot's task (`lua/record_slot.lua`).
    pub(crate) record_slot: Script,
    /// Pauses or resumes a schedule (`lua/pause_schedule.lua`).
    pub(crate) pause_schedule: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            page: Script::new(include_str!("lua/page.lua")),
            purge: with_prelude(include_str!("lua/purge.lua")),
            claim_attempt: Script::new(include_str!("lua/claim_attempt.lua")),
            claim: Script::new(include_str!("lua/claim.lua")),
            release: Script::new(include_str!("lua/release.lua")),
            note: Script::new(include_str!("lua/note.lua")),
            acquire: Script::new(include_str!("lua/acquire.lua")),
            renew_lease: Script::new(include_str!("lua/renew_lease.lua")),
            lease: Script::new(include_str!("lua/lease.lua")),
            claim_slot: Script::new(include_str!("lua/claim_slot.lua")),
            record_slot: Script::new(include_str!("lua/record_slot.lua")),
            pause_schedule: Script::new(include_str!("lua/pause_schedule.lua")),
        }
    }
}

/// The write script, owned by the writer: the prelude, the outcome field names it recognises
/// (from [`record::OUTCOME_FIELDS`], so they exist once), and `lua/write.lua`.
pub(crate) fn write() -> Script {
    let names: Vec<String> = record::OUTCOME_FIELDS
        .iter()
        .map(|field| format!("{field} = true"))
        .collect();
    with_prelude(&format!(
        "local OUTCOME_FIELDS = {{{}}}\n{}",
        names.join(", "),
        include_str!("lua/write.lua")
    ))
}

fn with_prelude(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use cogman_core::TaskState;

    use super::PRELUDE;

    /// The `RANK = { ... }` table of the prelude, parsed.
    fn lua_ranks() -> BTreeMap<String, u8> {
        let start = PRELUDE
            .find("local RANK = {")
            .expect("the prelude defines RANK");
        let body = &PRELUDE[start..];
        let end = body.find('}').expect("the RANK table is closed");
        body["local RANK = {".len()..end]
            .split(',')
            .filter_map(|entry| {
                let (name, rank) = entry.split_once('=')?;
                Some((
                    name.trim().to_owned(),
                    rank.trim().parse().expect("ranks are integers"),
                ))
            })
            .collect()
    }

    #[test]
    fn the_lua_rank_table_mirrors_task_state_rank() {
        let lua = lua_ranks();
        assert_eq!(lua.len(), TaskState::ALL.len(), "{lua:?}");
        for state in TaskState::ALL {
            assert_eq!(
                lua.get(state.as_str()),
                Some(&state.rank()),
                "rank of {state} differs between Lua and Rust"
            );
        }
    }
}
