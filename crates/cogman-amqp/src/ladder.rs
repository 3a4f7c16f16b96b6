//! The delay ladder's arithmetic (no I/O): how a delay becomes a routing key whose bits pick
//! the TTL queues a message waits in. Level `L` holds messages for `2^L` seconds; a delay of
//! `d` seconds visits exactly the levels whose bit is set in `d`, highest first, so the total
//! wait is `d` and every level queue holds messages of one TTL only (no head-of-line blocking).
//! See the "Delays" section of `docs/wire-format.md`.

use std::time::Duration;

/// Number of ladder levels (0 ..= 22). Level 22 waits 2^22 s = 4,194,304,000 ms, the largest
/// power of two RabbitMQ accepts as `x-message-ttl` (its limit is 2^32 − 1 ms).
pub const DELAY_LEVELS: u32 = 23;

/// Longest delay one pass through the ladder gives: 2^23 − 1 s (about 97 days). A task due
/// later takes the longest pass, and the consumer sends it through the ladder again.
pub const MAX_LADDER_DELAY_SECS: u64 = (1 << DELAY_LEVELS) - 1;

/// A task due within this much of now is delivered at once rather than delayed; this absorbs
/// clock jitter between machines and the rounding of delays to whole seconds.
pub(crate) const EARLY_TOLERANCE: Duration = Duration::from_millis(20);

/// The number of seconds to wait for a task due in `remaining`: rounded up, so a task never
/// leaves the ladder early, and at least 1 s, capped at [`MAX_LADDER_DELAY_SECS`].
pub(crate) fn delay_secs(remaining: Duration) -> u64 {
    let whole = remaining.as_secs();
    let secs = if remaining.subsec_nanos() > 0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    secs.clamp(1, MAX_LADDER_DELAY_SECS)
}

/// The routing key that carries `delay_secs` to `destination`: one word per level, highest
/// level first, `1` where the message waits at that level and `0` where it passes through,
/// then the destination queue name. Example for 5 s: `0.0.(…).0.1.0.1.high_priority_queue_0`.
pub(crate) fn routing_key(delay_secs: u64, destination: &str) -> String {
    let mut key = String::with_capacity(DELAY_LEVELS as usize * 2 + destination.len());
    for level in (0..DELAY_LEVELS).rev() {
        key.push(if delay_secs >> level & 1 == 1 {
            '1'
        } else {
            '0'
        });
        key.push('.');
    }
    key.push_str(destination);
    key
}

/// The binding pattern of level `level`: `*.` for each higher level, then `bit`, then `.#`.
pub(crate) fn level_pattern(level: u32, bit: char) -> String {
    let mut pattern = "*.".repeat((DELAY_LEVELS - 1 - level) as usize);
    pattern.push(bit);
    pattern.push_str(".#");
    pattern
}

/// Milliseconds a message waits at `level`.
pub(crate) fn level_ttl_ms(level: u32) -> i64 {
    (1_i64 << level) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_and_are_clamped() {
        assert_eq!(delay_secs(Duration::from_millis(1)), 1);
        assert_eq!(delay_secs(Duration::from_millis(1000)), 1);
        assert_eq!(delay_secs(Duration::from_millis(1001)), 2);
        assert_eq!(delay_secs(Duration::ZERO), 1);
        assert_eq!(
            delay_secs(Duration::from_secs(365 * 86_400)),
            MAX_LADDER_DELAY_SECS
        );
    }

    #[test]
    fn routing_keys_spell_the_delay_in_binary() {
        let key = routing_key(5, "q");
        let words: Vec<&str> = key.split('.').collect();
        assert_eq!(words.len(), DELAY_LEVELS as usize + 1);
        assert_eq!(words[words.len() - 4..], ["1", "0", "1", "q"]);
        assert!(words[..words.len() - 4].iter().all(|w| *w == "0"));
        // The bits a message waits at add up to its delay.
        let total: u64 = (0..DELAY_LEVELS)
            .filter(|l| words[(DELAY_LEVELS - 1 - l) as usize] == "1")
            .map(|l| 1_u64 << l)
            .sum();
        assert_eq!(total, 5);
    }

    #[test]
    fn patterns_look_at_their_own_level_only() {
        assert_eq!(level_pattern(DELAY_LEVELS - 1, '1'), "1.#");
        assert_eq!(level_pattern(0, '0').matches("*.").count(), 22);
        assert!(level_ttl_ms(DELAY_LEVELS - 1) <= i64::from(u32::MAX));
    }
}
