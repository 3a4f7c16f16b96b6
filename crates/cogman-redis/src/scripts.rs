//! The Lua scripts that make every write atomic: `create` (insert-or-advance), `record` (one
//! state change under the transition rule), `page` (one page of an index in list order) and
//! `purge`. Each task script is the shared prelude (`lua/prelude.lua`: the rank table and the
//! `advance` function) followed by its body, so the rule exists once in Lua and mirrors
//! [`cogman_core::TaskState::rank`] (checked by a test below).

use redis::Script;

const PRELUDE: &str = include_str!("lua/prelude.lua");

/// The loaded scripts (Redis caches them by SHA; `invoke_async` loads them on `NOSCRIPT`).
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) create: Script,
    pub(crate) record: Script,
    pub(crate) page: Script,
    pub(crate) purge: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        let with_prelude = |body: &str| Script::new(&format!("{PRELUDE}\n{body}"));
        Scripts {
            create: with_prelude(include_str!("lua/create.lua")),
            record: with_prelude(include_str!("lua/record.lua")),
            page: Script::new(include_str!("lua/page.lua")),
            purge: with_prelude(include_str!("lua/purge.lua")),
        }
    }
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
