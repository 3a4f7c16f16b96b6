//! Opening channels on a connection, plain or in publisher-confirm mode; a failure is
//! transient ([`BrokerError::Unavailable`]): the connection is going away.

use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection};

use cogman_core::BrokerError;

use crate::error;

/// A new channel on `connection`.
pub(crate) async fn open(connection: &Connection) -> Result<Channel, BrokerError> {
    connection
        .create_channel()
        .await
        .map_err(error::unavailable)
}

/// A new channel on `connection` with publisher confirms on.
pub(crate) async fn open_confirming(connection: &Connection) -> Result<Channel, BrokerError> {
    let channel = open(connection).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(error::unavailable)?;
    Ok(channel)
}
