//! Who signs users in: the embedded local tenant (the default) or the provider named by
//! `AUTH0_DOMAIN`, and the Tollgate configuration that points at it.

use std::net::SocketAddr;

use tollgate::{Config, ConfigBuilder};
use tollgate_tenant::{ClientConfig, RunningTenant, Tenant, TenantConfig};

use crate::{DemoError, DemoOptions};

/// The cookie secret used when `AUTH0_SECRET` is not set. It is public, so anyone can forge a
/// session sealed with it: for local development only.
pub const DEVELOPMENT_SECRET: &str =
    "tollgate-demo-DEVELOPMENT-ONLY-secret-never-use-in-production";

/// The embedded tenant's client id (override with `AUTH0_CLIENT_ID`).
pub const DEMO_CLIENT_ID: &str = "demo-client";

/// The embedded tenant's client secret (override with `AUTH0_CLIENT_SECRET`).
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";

/// A demo login of the embedded tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoLogin {
    /// The email address to type.
    pub email: &'static str,
    /// The password to type.
    pub password: &'static str,
    /// The name the tenant puts in the ID token.
    pub name: &'static str,
    /// Whether a TOTP authenticator is enrolled (secret `JBSWY3DPEHPK3PXP`).
    pub totp_enrolled: bool,
}

/// Alice: password and an enrolled TOTP authenticator.
pub const ALICE: DemoLogin = DemoLogin {
    email: "alice@example.com",
    password: "alice-password-1",
    name: "Alice Example",
    totp_enrolled: true,
};

/// Bob: password only.
pub const BOB: DemoLogin = DemoLogin {
    email: "bob@example.com",
    password: "bob-password-1",
    name: "Bob Example",
    totp_enrolled: false,
};

/// The configuration and, unless `AUTH0_DOMAIN` is set, the tenant it points at.
#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) config: Config,
    pub(crate) tenant: Option<RunningTenant>,
    pub(crate) development_secret: bool,
}

/// Builds the configuration for an app listening on `app_addr`; starts the embedded tenant when
/// no `AUTH0_DOMAIN` is given.
pub(crate) async fn configure(
    options: &DemoOptions,
    app_addr: SocketAddr,
) -> Result<Provider, DemoError> {
    // The connections page links accounts through /auth/connect.
    let mut builder = ConfigBuilder::from_vars(|name| options.var(name).map(str::to_owned))?
        .enable_connect_account_endpoint(true);
    let development_secret = options.var("AUTH0_SECRET").is_none();
    if development_secret {
        builder = builder.secret(DEVELOPMENT_SECRET);
    }
    if options.var("APP_BASE_URL").is_none() {
        builder = builder.app_base_url(format!("http://{app_addr}"));
    }
    if options.var("AUTH0_DOMAIN").is_some() {
        return Ok(Provider {
            config: builder.build()?,
            tenant: None,
            development_secret,
        });
    }

    let client_id = options.var("AUTH0_CLIENT_ID").unwrap_or(DEMO_CLIENT_ID);
    let client_secret = options
        .var("AUTH0_CLIENT_SECRET")
        .unwrap_or(DEMO_CLIENT_SECRET);
    let builder = builder
        .client_id(client_id)
        .client_secret(client_secret)
        .insecure_allow_http_loopback_issuer();
    // The issuer is known only once the tenant listens, and the tenant must know the app's
    // callback: check every other setting first with a stand-in issuer.
    let draft = builder.clone().domain("http://127.0.0.1/").build()?;
    let mut tenant_config = tenant_config(
        ClientConfig::new(client_id, client_secret)
            .with_callback(draft.redirect_uri().as_str())
            .with_logout_url(draft.app_base_url().as_str()),
    );
    if let Some(dir) = options.state_dir() {
        tenant_config = tenant_config.with_state_dir(dir);
    }
    let tenant = Tenant::start(tenant_config, options.tenant_addr()).await?;
    let config = builder.domain(tenant.issuer()).build()?;
    Ok(Provider {
        config,
        tenant: Some(tenant),
        development_secret,
    })
}

/// The example tenant's users, APIs and MFA policies ([`TenantConfig::example`]) with `client`
/// as its only application.
fn tenant_config(client: ClientConfig) -> TenantConfig {
    let example = TenantConfig::example();
    let mut config = TenantConfig::new().with_client(client);
    for user in example.users() {
        config = config.with_user(user.clone());
    }
    for api in example.apis() {
        config = config.with_api(api.clone());
    }
    for policy in example.mfa_policies() {
        config = config.with_mfa_policy(policy.clone());
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_logins_are_the_example_tenants_users() {
        let config = tenant_config(ClientConfig::new("c", "s"));
        for login in [ALICE, BOB] {
            let user = config
                .users()
                .iter()
                .find(|u| u.email() == login.email)
                .unwrap_or_else(|| panic!("{} is not in TenantConfig::example()", login.email));
            assert_eq!(user.name(), login.name);
            assert_eq!(user.totp_secret().is_some(), login.totp_enrolled);
        }
        assert_eq!(config.clients().len(), 1);
        let example = TenantConfig::example();
        assert_eq!(config.apis().len(), example.apis().len());
        assert_eq!(config.mfa_policies().len(), example.mfa_policies().len());
        assert!(
            config
                .apis()
                .iter()
                .any(|a| a.identifier() == "https://payments.example.com")
        );
    }

    #[test]
    fn the_development_secret_is_long_enough_and_says_what_it_is() {
        assert!(DEVELOPMENT_SECRET.len() >= tollgate::MIN_SECRET_LEN);
        assert!(DEVELOPMENT_SECRET.contains("DEVELOPMENT-ONLY"));
    }
}
