//! [`DeadLetterStore`] for Redis: entries as JSON in a hash by id, their ids in a zset (for
//! newest-first pages), idempotency keys in a hash, ids from a counter. Adding is one script,
//! so a key is stored once however many collectors race. Entries do not expire: an operator
//! requeues or purges them.

use async_trait::async_trait;
use cogman_core::dead_letters::page_of;
use cogman_core::{DeadLetter, DeadLetterPage, DeadLetterStore, NewDeadLetter, TaskLogError};
use redis::Script;

use crate::log::RedisLog;

const ADD: &str = r"
if ARGV[2] ~= '' then
  local known = redis.call('HGET', KEYS[3], ARGV[2])
  if known then return tonumber(known) end
end
local id = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[1], id, ARGV[1])
redis.call('ZADD', KEYS[2], id, id)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[3], ARGV[2], id) end
return id
";

fn parse(id: u64, json: &str) -> Result<DeadLetter, TaskLogError> {
    let entry = serde_json::from_str(json).map_err(|e| TaskLogError::Corrupt {
        id: format!("dead letter {id}"),
        reason: e.to_string(),
    })?;
    Ok(DeadLetter { id, entry })
}

#[async_trait]
impl DeadLetterStore for RedisLog {
    async fn add_dead_letter(&self, entry: &NewDeadLetter) -> Result<u64, TaskLogError> {
        let ns = self.namespace();
        let keys = ns.keys.dead_letters();
        let json = serde_json::to_string(entry).map_err(|e| TaskLogError::Other(Box::new(e)))?;
        let key = entry.key.clone().unwrap_or_default();
        let script = Script::new(ADD);
        ns.conn
            .run("add dead letter", |mut con| {
                let mut call = script.prepare_invoke();
                call.key(&keys[..]).arg(&json).arg(&key);
                async move { call.invoke_async::<u64>(&mut con).await }
            })
            .await
    }

    async fn dead_letters(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<DeadLetterPage, TaskLogError> {
        let ns = self.namespace();
        let [entries, ids_key, _, _] = ns.keys.dead_letters();
        let max = before.map_or_else(|| "+inf".to_owned(), |b| format!("({b}"));
        let ids: Vec<u64> = ns
            .conn
            .run("dead letters", |mut con| {
                let (ids_key, max) = (&ids_key, &max);
                async move {
                    redis::cmd("ZREVRANGEBYSCORE")
                        .arg(ids_key)
                        .arg(max)
                        .arg("-inf")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(limit.saturating_add(1))
                        .query_async(&mut con)
                        .await
                }
            })
            .await?;
        if ids.is_empty() {
            return Ok(DeadLetterPage::default());
        }
        let values: Vec<Option<String>> = ns
            .conn
            .run("dead letters", |mut con| {
                let (entries, ids) = (&entries, &ids);
                async move {
                    redis::cmd("HMGET")
                        .arg(entries)
                        .arg(ids)
                        .query_async(&mut con)
                        .await
                }
            })
            .await?;
        let mut found = Vec::with_capacity(ids.len());
        for (id, json) in ids.into_iter().zip(values) {
            if let Some(json) = json {
                found.push(parse(id, &json)?);
            }
        }
        Ok(page_of(found, limit))
    }

    async fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, TaskLogError> {
        let ns = self.namespace();
        let [entries, ..] = ns.keys.dead_letters();
        let json: Option<String> = ns
            .conn
            .run("dead letter", |mut con| {
                let entries = &entries;
                async move {
                    redis::cmd("HGET")
                        .arg(entries)
                        .arg(id)
                        .query_async(&mut con)
                        .await
                }
            })
            .await?;
        json.map(|json| parse(id, &json)).transpose()
    }

    async fn remove_dead_letter(&self, id: u64) -> Result<bool, TaskLogError> {
        let Some(found) = self.dead_letter(id).await? else {
            return Ok(false);
        };
        let ns = self.namespace();
        let [entries, ids, keys, _] = ns.keys.dead_letters();
        let removed: (u64,) = ns
            .conn
            .run("remove dead letter", |mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("HDEL")
                    .arg(&entries)
                    .arg(id)
                    .cmd("ZREM")
                    .arg(&ids)
                    .arg(id)
                    .ignore();
                if let Some(key) = &found.entry.key {
                    pipe.cmd("HDEL").arg(&keys).arg(key).ignore();
                }
                async move { pipe.query_async(&mut con).await }
            })
            .await?;
        Ok(removed.0 > 0)
    }

    async fn purge_dead_letters(&self) -> Result<u64, TaskLogError> {
        let ns = self.namespace();
        let [entries, ids, keys, _] = ns.keys.dead_letters();
        let (count,): (u64,) = ns
            .conn
            .run("purge dead letters", |mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("ZCARD")
                    .arg(&ids)
                    .cmd("DEL")
                    .arg(&entries)
                    .arg(&ids)
                    .arg(&keys)
                    .ignore();
                async move { pipe.query_async(&mut con).await }
            })
            .await?;
        Ok(count)
    }
}
