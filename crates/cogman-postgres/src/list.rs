//! [`TaskLog::list`](cogman_core::TaskLog::list) and
//! [`TaskLog::oldest`](cogman_core::TaskLog::oldest) for PostgreSQL: one query built from the
//! filter (every filter field has an index that serves it), ordered by
//! `(created_at, id)` descending (ascending for `oldest`). The cursor is the id of the last
//! task returned; the next page starts strictly after that task's `(created_at, id)`.

use cogman_core::{Cursor, Page, PageRequest, Task, TaskFilter, TaskLogError};
use sqlx_core::query_builder::QueryBuilder;
use sqlx_postgres::Postgres;

use crate::bounds;
use crate::db::Db;
use crate::error::retry;
use crate::row::{self, TASK_COLUMNS};

pub(crate) async fn list(
    db: &Db,
    filter: &TaskFilter,
    page: PageRequest,
) -> Result<Page, TaskLogError> {
    filter.validate()?;
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    let pool = db.pool().await?;
    let rows = retry("list", db.retries(), || {
        let mut query = select(filter);
        if let Some(Cursor(cursor)) = page.after {
            query
                .push(" AND (created_at, id) < (coalesce((SELECT created_at FROM tasks WHERE id = ")
                .push_bind(cursor.as_uuid())
                .push("), ")
                .push_bind(bounds::id_time(cursor))
                .push("), ")
                .push_bind(cursor.as_uuid())
                .push(")");
        }
        query
            .push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        async move { query.build().fetch_all(pool).await }
    })
    .await?;
    let mut items: Vec<Task> = rows.iter().map(row::task).collect::<Result<_, _>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|task| Cursor(task.id))
    } else {
        None
    };
    Ok(Page { items, next })
}

pub(crate) async fn oldest(
    db: &Db,
    filter: &TaskFilter,
    limit: u32,
) -> Result<Vec<Task>, TaskLogError> {
    filter.validate()?;
    let limit = limit.clamp(1, PageRequest::MAX_LIMIT);
    let pool = db.pool().await?;
    let rows = retry("oldest", db.retries(), || {
        let mut query = select(filter);
        query
            .push(" ORDER BY created_at ASC, id ASC LIMIT ")
            .push_bind(i64::from(limit));
        async move { query.build().fetch_all(pool).await }
    })
    .await?;
    rows.iter().map(row::task).collect()
}

/// `SELECT ... FROM tasks WHERE <filter>`.
fn select(filter: &TaskFilter) -> QueryBuilder<Postgres> {
    let mut query = QueryBuilder::new(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE true"));
    if !filter.statuses.is_empty() {
        let statuses: Vec<&'static str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        query
            .push(" AND status = ANY(")
            .push_bind(statuses)
            .push(")");
    }
    if let Some(name) = &filter.name {
        query.push(" AND name = ").push_bind(name.clone());
    }
    if let Some(key) = &filter.primary_key {
        query.push(" AND primary_key = ").push_bind(key.clone());
    }
    if let Some(original) = filter.original_task_id {
        // The first attempt by primary key, later ones through `tasks_later_attempts`.
        query
            .push(" AND (id = ")
            .push_bind(original.as_uuid())
            .push(" OR (original_task_id = ")
            .push_bind(original.as_uuid())
            .push(" AND original_task_id <> id))");
    }
    if let Some(from) = filter.created_from {
        query
            .push(" AND created_at >= ")
            .push_bind(bounds::clamp(from));
    }
    if let Some(to) = filter.created_to {
        query
            .push(" AND created_at < ")
            .push_bind(bounds::clamp(to));
    }
    query
}
