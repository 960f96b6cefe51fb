//! HTTP plumbing shared by the routes: parameters, client authentication, cookies, CORS, OAuth
//! error bodies, HTML pages and the front-door guard (hosts, origins, page headers).

pub(crate) mod binding;
pub(crate) mod client_auth;
pub(crate) mod cookies;
pub(crate) mod cors;
pub(crate) mod guard;
pub(crate) mod oauth_error;
pub(crate) mod pages;
pub(crate) mod params;
