//! Managing rate and concurrency limits through a [`Client`] (set or replace, remove) and
//! reading them through an [`Inspector`]. The log's [`LimitStore`] keeps them; workers apply
//! them (see `worker::limits`).

use cogman_core::{LimitStore, TaskLimit, TaskLog};

use crate::client::Client;
use crate::error::Error;
use crate::inspector::Inspector;

fn store(log: &dyn TaskLog) -> Result<&dyn LimitStore, Error> {
    log.limit_store().ok_or(Error::LimitsUnsupported)
}

impl Client {
    /// Sets the limit of `limit.name`, replacing the one it had. Workers apply it within
    /// a second ([`crate::worker::LIMIT_CHECK`]).
    ///
    /// # Errors
    /// [`Error::Limit`] for a bad limit (nothing stored); [`Error::LimitsUnsupported`];
    /// [`Error::TaskLog`].
    pub async fn put_limit(&self, limit: &TaskLimit) -> Result<(), Error> {
        limit.validate(self.limits())?;
        store(self.log().as_ref())?.put_limit(limit).await?;
        Ok(())
    }

    /// Removes the limit of `name`.
    ///
    /// # Errors
    /// [`Error::LimitNotFound`]; [`Error::LimitsUnsupported`]; [`Error::TaskLog`].
    pub async fn remove_limit(&self, name: &str) -> Result<(), Error> {
        if store(self.log().as_ref())?.remove_limit(name).await? {
            Ok(())
        } else {
            Err(Error::LimitNotFound(name.to_owned()))
        }
    }
}

impl Inspector {
    /// Every limit, by task name.
    ///
    /// # Errors
    /// [`Error::LimitsUnsupported`]; [`Error::TaskLog`].
    pub async fn task_limits(&self) -> Result<Vec<TaskLimit>, Error> {
        Ok(store(self.log().as_ref())?.limits().await?)
    }
}
