//! The demo's own pages. Each page is a module with a handler; [`router`] lists them. Plain HTML
//! that works without JavaScript (except `/payments`, which calls an API from the browser), and
//! everything that comes from the user is escaped.

mod billing;
mod connections;
mod home;
mod layout;
mod payments;
mod profile;

use axum::Router;
use axum::routing::get;
use tollgate::Tollgate;

/// The pages, with `auth` as state (for the route paths). Without the auth routes and the
/// session layer: [`crate::app`] adds those.
pub(crate) fn router(auth: Tollgate) -> Router {
    let provider_origin = auth.config().issuer().origin().ascii_serialization();
    let pages = Router::new()
        .route("/", get(home::page))
        .route("/profile", get(profile::page))
        .route("/payments", get(payments::page))
        .route(payments::SCRIPT_PATH, get(payments::script))
        .route("/connections", get(connections::page))
        .route(connections::SCRIPT_PATH, get(connections::script))
        .merge(billing::router())
        .fallback(layout::not_found)
        .with_state(auth);
    layout::form_action(pages, &provider_origin)
}
