//! What a conformance factory may return: anything that hands out the backend under test as an
//! `Arc<dyn TaskLog>` ([`LogFixture`]) or `Arc<dyn Broker>` ([`BrokerFixture`]), optionally with
//! a guard kept alive for the whole test ([`Guarded`]). [`LogFactory`] and [`BrokerFactory`]
//! name "a closure that builds a fresh fixture". [`offered`] reads an optional ability.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use cogman_core::{Broker, TaskLog};

/// A value that gives access to the task log under test. Kept alive until the test ends.
pub trait LogFixture: Send + 'static {
    /// The log under test.
    fn log(&self) -> Arc<dyn TaskLog>;
}

/// A value that gives access to the broker under test. Kept alive until the test ends.
pub trait BrokerFixture: Send + 'static {
    /// The broker under test.
    fn broker(&self) -> Arc<dyn Broker>;
}

impl<T: TaskLog + 'static> LogFixture for Arc<T> {
    fn log(&self) -> Arc<dyn TaskLog> {
        Arc::clone(self) as Arc<dyn TaskLog>
    }
}

impl LogFixture for Arc<dyn TaskLog> {
    fn log(&self) -> Arc<dyn TaskLog> {
        Arc::clone(self)
    }
}

impl<T: Broker + 'static> BrokerFixture for Arc<T> {
    fn broker(&self) -> Arc<dyn Broker> {
        Arc::clone(self) as Arc<dyn Broker>
    }
}

impl BrokerFixture for Arc<dyn Broker> {
    fn broker(&self) -> Arc<dyn Broker> {
        Arc::clone(self)
    }
}

/// A fixture plus a guard (a temporary directory, a schema dropper) that lives as long as it.
pub struct Guarded<T> {
    value: T,
    _guard: Box<dyn Any + Send>,
}

impl<T> Guarded<T> {
    /// Keeps `guard` alive as long as `value`.
    pub fn new(value: T, guard: impl Send + 'static) -> Self {
        Guarded {
            value,
            _guard: Box::new(guard),
        }
    }
}

impl<T> fmt::Debug for Guarded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded").finish_non_exhaustive()
    }
}

impl<T: LogFixture> LogFixture for Guarded<T> {
    fn log(&self) -> Arc<dyn TaskLog> {
        self.value.log()
    }
}

impl<T: BrokerFixture> BrokerFixture for Guarded<T> {
    fn broker(&self) -> Arc<dyn Broker> {
        self.value.broker()
    }
}

/// Builds a fresh, isolated task log for one test; any `Fn() -> impl Future<Output = impl
/// LogFixture>` is one.
pub trait LogFactory {
    /// What the factory builds.
    type Fixture: LogFixture;
    /// The future that builds it.
    type Future: Future<Output = Self::Fixture>;
    /// Starts building a fresh instance.
    fn make(&self) -> Self::Future;
}

impl<F, Fut> LogFactory for F
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: LogFixture,
{
    type Fixture = Fut::Output;
    type Future = Fut;
    fn make(&self) -> Fut {
        self()
    }
}

/// Builds a fresh, isolated broker for one test; any `Fn() -> impl Future<Output = impl
/// BrokerFixture>` is one.
pub trait BrokerFactory {
    /// What the factory builds.
    type Fixture: BrokerFixture;
    /// The future that builds it.
    type Future: Future<Output = Self::Fixture>;
    /// Starts building a fresh instance.
    fn make(&self) -> Self::Future;
}

impl<F, Fut> BrokerFactory for F
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: BrokerFixture,
{
    type Fixture = Fut::Output;
    type Future = Fut;
    fn make(&self) -> Fut {
        self()
    }
}

/// `ability` as the backend offers it; when it offers none, says so (a property of the
/// backend, printed with the `behaviour` that has nothing to check) and gives `None`.
pub(crate) fn offered<'a, T: ?Sized>(
    ability: Option<&'a T>,
    behaviour: &str,
    what: &str,
) -> Option<&'a T> {
    if ability.is_none() {
        println!("{behaviour}: the backend offers no {what}; nothing to check");
    }
    ability
}
