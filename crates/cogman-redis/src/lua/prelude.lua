-- Shared by the write and purge scripts (the Rust side prepends it).
--
-- Progress rank of each state. It mirrors TaskState::rank in cogman-core; a unit test in
-- scripts.rs checks every entry against the Rust function. A state may only be replaced by
-- one of a higher rank, so a task never goes backwards whatever order writes arrive in.
local RANK = {
  initiated = 0,
  scheduled = 1,
  queued = 2,
  in_progress = 3,
  retry = 4,
  success = 4,
  failed = 4,
  cancelled = 4,
}

-- Index key names; they mirror keys.rs (listing by status reads what these write).
local function status_index(prefix, state)
  return prefix .. 'status:' .. state
end
