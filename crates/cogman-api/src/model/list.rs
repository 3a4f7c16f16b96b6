//! The query of `GET /tasks`: [`ListParams`] is read from the raw pairs (so `status` may be
//! repeated or comma-separated), then checked into a core [`TaskFilter`] and [`PageRequest`].

use chrono::{DateTime, Utc};
use cogman::{Cursor, PageRequest, TaskFilter, TaskId, TaskState};
use utoipa::IntoParams;

use super::names::StatusName;
use crate::error::ApiError;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;

/// Filters and paging of `GET /tasks`; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only tasks in these states; repeat the parameter or separate with commas.
    #[param(value_type = Option<Vec<StatusName>>, style = Form, explode)]
    pub status: Vec<String>,
    /// Only tasks with this exact name.
    pub name: Option<String>,
    /// Only tasks with this exact primary key.
    pub primary_key: Option<String>,
    /// Only attempts of this original task.
    #[param(value_type = Option<uuid::Uuid>)]
    pub original_task_id: Option<String>,
    /// Created at or after (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub created_from: Option<String>,
    /// Created before (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub created_to: Option<String>,
    /// Continue after this cursor (the `next` of the previous page).
    pub after: Option<String>,
    /// Tasks per page, 1 to 1000; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

fn set_once(slot: &mut Option<String>, key: &str, value: String) -> Result<(), ApiError> {
    if slot.replace(value).is_some() {
        return Err(ApiError::invalid_query(format!(
            "{key} is given more than once"
        )));
    }
    Ok(())
}

fn parse_time(key: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| ApiError::invalid_query(format!("{key} is not an RFC 3339 time: {e}")))
        })
        .transpose()
}

impl ListParams {
    /// Reads the raw query pairs.
    ///
    /// # Errors
    /// 400 for an unknown parameter or a repeated one that takes a single value.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut params = ListParams::default();
        for (key, value) in pairs {
            match key.as_str() {
                "status" => params.status.push(value),
                "name" => set_once(&mut params.name, &key, value)?,
                "primary_key" => set_once(&mut params.primary_key, &key, value)?,
                "original_task_id" => set_once(&mut params.original_task_id, &key, value)?,
                "created_from" => set_once(&mut params.created_from, &key, value)?,
                "created_to" => set_once(&mut params.created_to, &key, value)?,
                "after" => set_once(&mut params.after, &key, value)?,
                "limit" => set_once(&mut params.limit, &key, value)?,
                other => {
                    let shown: String = other.chars().take(40).collect();
                    return Err(ApiError::invalid_query(format!(
                        "unknown query parameter {shown:?}"
                    )));
                }
            }
        }
        Ok(params)
    }

    /// The filter and page these parameters ask for.
    ///
    /// # Errors
    /// 400 for an unknown state, a malformed id, cursor or time, or a limit out of range.
    pub fn into_query(self) -> Result<(TaskFilter, PageRequest), ApiError> {
        let statuses = self
            .status
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<TaskState>()
                    .map_err(|e| ApiError::invalid_query(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let original_task_id = self
            .original_task_id
            .map(|v| v.parse::<TaskId>())
            .transpose()
            .map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
        let after = self
            .after
            .map(|v| v.parse::<Cursor>())
            .transpose()
            .map_err(|_| {
                ApiError::bad_request("invalid_cursor", "after is not a cursor returned as next")
            })?;
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=PageRequest::MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_query(format!(
                        "limit must be 1 to {}",
                        PageRequest::MAX_LIMIT
                    ))
                })?,
        };
        let filter = TaskFilter {
            statuses,
            name: self.name,
            primary_key: self.primary_key,
            original_task_id,
            created_from: parse_time("created_from", self.created_from.as_deref())?,
            created_to: parse_time("created_to", self.created_to.as_deref())?,
        };
        Ok((filter, PageRequest { limit, after }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn query(items: &[(&str, &str)]) -> Result<(TaskFilter, PageRequest), ApiError> {
        ListParams::from_pairs(pairs(items))?.into_query()
    }

    #[test]
    fn statuses_repeat_or_split_on_commas() {
        let (filter, page) = query(&[
            ("status", "queued,failed"),
            ("status", "success"),
            ("limit", "7"),
        ])
        .expect("valid");
        assert_eq!(
            filter.statuses,
            vec![TaskState::Queued, TaskState::Failed, TaskState::Success]
        );
        assert_eq!(
            page,
            PageRequest {
                limit: 7,
                after: None
            }
        );
    }

    #[test]
    fn times_ids_and_cursors_are_parsed() {
        let id = TaskId::new();
        let (filter, page) = query(&[
            ("created_from", "2026-01-01T00:00:00Z"),
            ("created_to", "2026-01-02T00:00:00+02:00"),
            ("after", &id.to_string()),
            ("original_task_id", &id.to_string()),
        ])
        .expect("valid");
        assert_eq!(
            filter.created_to.map(|t| t.to_rfc3339()),
            Some("2026-01-01T22:00:00+00:00".into())
        );
        assert_eq!(filter.original_task_id, Some(id));
        assert_eq!(page.after, Some(Cursor(id)));
        assert_eq!(page.limit, DEFAULT_LIMIT);
    }

    #[test]
    fn bad_queries_are_400s() {
        for bad in [
            vec![("status", "done")],
            vec![("limit", "0")],
            vec![("limit", "1001")],
            vec![("limit", "ten")],
            vec![("after", "nope")],
            vec![("created_from", "yesterday")],
            vec![("name", "a"), ("name", "b")],
            vec![("colour", "red")],
        ] {
            let error = query(&bad).expect_err("invalid");
            assert_eq!(error.status().as_u16(), 400, "{bad:?}");
        }
    }
}
