//! The in-memory store passes the shared store conformance suite.

mod common;

use std::sync::Arc;

use tollgate::store::MemoryStore;

async fn make() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new())
}

store_suite!(make());
