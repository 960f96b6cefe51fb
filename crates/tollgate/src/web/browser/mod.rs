//! The dependency-free browser module served by the SDK (`/auth/client.js`).

use crate::config::Routes;

const SOURCE: &str = include_str!("client.js");

/// The browser module with this application's route paths: `getUser`, `getAccessToken`, and
/// `mfa.getAuthenticators / enroll / challenge / verify`, raising typed errors.
///
/// ```
/// let js = tollgate::browser_module(&tollgate::Routes::default());
/// assert!(js.contains("\"accessToken\":\"/auth/access-token\""));
/// assert!(js.contains("export class MfaRequiredError"));
/// ```
pub fn browser_module(routes: &Routes) -> String {
    let map = serde_json::json!({
        "login": routes.login,
        "profile": routes.profile,
        "accessToken": routes.access_token,
        "mfaAuthenticators": routes.mfa_authenticators,
        "mfaChallenge": routes.mfa_challenge,
        "mfaAssociate": routes.mfa_associate,
        "mfaVerify": routes.mfa_verify,
    });
    SOURCE.replacen("/*TOLLGATE_ROUTES*/ {}", &map.to_string(), 1)
}
