//! The local tenant's integration tests, in one test binary: each module covers one area
//! (login, tokens, refresh, logout, back-channel logout, DPoP, MFA, My Account, events, faults,
//! configuration) through the tenant's HTTP endpoints, with the helpers in `common`.

mod common;

mod attack_protection;
mod backchannel;
mod bounds;
mod browser_attacks;
mod client_config;
mod clock;
mod config;
mod cors;
mod discovery;
mod dpop;
mod events;
mod faults;
mod front_door;
mod login;
mod login_csrf;
mod logout;
mod mfa_adaptive;
mod mfa_api;
mod mfa_audience;
mod mfa_chain;
mod mfa_config;
mod mfa_grants;
mod mfa_outbox;
mod mfa_pages;
mod mfa_refresh;
mod my_account_api;
mod page_headers;
mod public_clients;
mod refresh;
mod spa_browser;
mod state_dir;
mod tls;
mod token;
