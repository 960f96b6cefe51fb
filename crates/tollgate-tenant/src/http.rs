//! HTTP plumbing shared by the routes: parameters, client authentication, cookies, OAuth error
//! bodies and HTML pages.

pub(crate) mod client_auth;
pub(crate) mod cookies;
pub(crate) mod oauth_error;
pub(crate) mod pages;
pub(crate) mod params;
