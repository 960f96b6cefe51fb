//! The in-memory store passes the shared store conformance suite.

use std::sync::Arc;

use tollgate::store::MemoryStore;

async fn make() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new())
}

tollgate::store_conformance!(make());
