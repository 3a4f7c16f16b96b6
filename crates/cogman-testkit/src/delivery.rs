//! Reading a consumer with a bound: [`next_within`] waits for a delivery up to a deadline, and
//! [`expect_no_delivery`] asserts that nothing arrives during a window (a bounded timeout is the
//! right tool there: it checks an absence).

use std::time::Duration;

use cogman_core::{BrokerError, Consumer, Delivery};

/// [`next_within`] got no delivery.
#[derive(Debug, thiserror::Error)]
pub enum NextError {
    /// Nothing arrived in time.
    #[error("no delivery within {0:?}")]
    Timeout(Duration),
    /// The consumer failed.
    #[error("consumer failed")]
    Broker(#[from] BrokerError),
}

/// [`expect_no_delivery`] saw something during the window.
#[derive(Debug, thiserror::Error)]
pub enum NoDeliveryError {
    /// A delivery arrived; it is returned unsettled.
    #[error("task {} was delivered within the window", .0.task().id)]
    Delivered(Box<Delivery>),
    /// The consumer failed.
    #[error("consumer failed")]
    Broker(#[from] BrokerError),
}

/// The next delivery, waiting at most `timeout`.
///
/// # Errors
/// [`NextError::Timeout`] when nothing arrives in time; [`NextError::Broker`] when `next` fails.
pub async fn next_within(
    consumer: &mut dyn Consumer,
    timeout: Duration,
) -> Result<Delivery, NextError> {
    match tokio::time::timeout(timeout, consumer.next()).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(NextError::Timeout(timeout)),
    }
}

/// Succeeds when the consumer delivers nothing during `window`.
///
/// # Errors
/// [`NoDeliveryError::Delivered`] with the unexpected delivery, or [`NoDeliveryError::Broker`]
/// when `next` fails.
pub async fn expect_no_delivery(
    consumer: &mut dyn Consumer,
    window: Duration,
) -> Result<(), NoDeliveryError> {
    match tokio::time::timeout(window, consumer.next()).await {
        Err(_) => Ok(()),
        Ok(Ok(delivery)) => Err(NoDeliveryError::Delivered(Box::new(delivery))),
        Ok(Err(err)) => Err(NoDeliveryError::Broker(err)),
    }
}
