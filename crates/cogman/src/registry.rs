//! [`Registry`]: task name → handler. Safe to change while a worker runs; registering a second
//! handler under a name already taken is an error (the seed's `ErrDuplicateTaskName`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cogman_core::task::validate_name;
use cogman_core::{Handler, Limits};

use crate::error::Error;

/// Handlers by task name; a cheap-clone handle shared by the worker and the facade.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: Arc<RwLock<HashMap<String, Arc<dyn Handler>>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("names", &self.names())
            .finish()
    }
}

impl Registry {
    /// Adds `handler` for `name`.
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad name; [`Error::DuplicateHandler`] when the name is taken.
    pub fn register(&self, name: &str, handler: Arc<dyn Handler>) -> Result<(), Error> {
        validate_name(name, &Limits::default())?;
        let mut handlers = self
            .handlers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if handlers.contains_key(name) {
            return Err(Error::DuplicateHandler(name.to_owned()));
        }
        handlers.insert(name.to_owned(), handler);
        Ok(())
    }

    /// The handler for `name`, if any.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Handler>> {
        self.handlers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// True when `name` has a handler.
    pub fn contains(&self, name: &str) -> bool {
        self.handlers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .handlers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cogman_core::{TaskError, handler_fn};

    fn noop() -> Arc<dyn Handler> {
        Arc::new(handler_fn(|_, _| async { Ok::<_, TaskError>(()) }))
    }

    #[test]
    fn a_name_takes_one_handler() {
        let registry = Registry::default();
        registry.register("a", noop()).expect("first registration");
        assert!(
            matches!(registry.register("a", noop()), Err(Error::DuplicateHandler(n)) if n == "a")
        );
        assert!(matches!(
            registry.register("", noop()),
            Err(Error::Validation(_))
        ));
        assert!(registry.contains("a") && !registry.contains("b"));
        assert_eq!(registry.names(), vec!["a".to_owned()]);
    }
}
