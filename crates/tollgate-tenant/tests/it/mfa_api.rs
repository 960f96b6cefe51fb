//! The MFA API: `GET /mfa/authenticators`, `POST /mfa/associate`, `POST /mfa/challenge` and
//! `DELETE /mfa/authenticators/{id}`, with raw `mfa_token`s and MFA API access tokens.

use crate::common::mfa::*;
use crate::common::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tollgate_tenant::RunningTenant;

async fn ok_json(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

fn find<'a>(list: &'a Value, prefix: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{prefix}|dev_"))
        })
        .unwrap_or_else(|| panic!("no {prefix} authenticator in {list}"))
}

/// An access token for the MFA API for carol (via SMS), with `scope`.
async fn carol_mfa_access_token(tenant: &RunningTenant, scope: &str) -> String {
    let rt = refresh_token(&tokens_as(tenant, CAROL, CAROL_PASSWORD).await);
    let mfa_audience = format!("{}mfa/", tenant.issuer());
    let body = expect_mfa_required(tenant, &rt, &mfa_audience).await;
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let challenge = ok_json(
        mfa_challenge(
            tenant,
            json!({"mfa_token": mfa_token, "challenge_type": "oob"}),
        )
        .await,
    )
    .await;
    let code = last_message(tenant, CAROL).code.unwrap();
    let tokens = ok_json(
        mfa_grant(
            tenant,
            GRANT_OOB,
            &[
                ("mfa_token", mfa_token),
                ("oob_code", challenge["oob_code"].as_str().unwrap()),
                ("binding_code", &code),
                ("scope", scope),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(tokens["scope"], scope);
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn authenticators_are_listed_in_auth0s_shape() {
    let tenant = start_mfa().await;
    let (alice_token, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    let list = ok_json(list_authenticators(&tenant, &alice_token).await).await;
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let recovery = &items[0];
    assert!(
        recovery["id"]
            .as_str()
            .unwrap()
            .starts_with("recovery-code|dev_")
    );
    assert_eq!(
        recovery.as_object().unwrap().len(),
        4,
        "id, authenticator_type, active, type: {recovery}"
    );
    assert_eq!(recovery["authenticator_type"], "recovery-code");
    assert_eq!(recovery["type"], "recovery-code");
    assert_eq!(recovery["active"], true);
    let totp = &items[1];
    assert!(totp["id"].as_str().unwrap().starts_with("totp|dev_"));
    assert_eq!(totp["id"].as_str().unwrap().len(), "totp|dev_".len() + 16);
    assert_eq!(totp["authenticator_type"], "otp");
    assert_eq!(totp["type"], "otp");
    assert!(totp.get("oob_channel").is_none());

    let (carol_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let list = ok_json(list_authenticators(&tenant, &carol_token).await).await;
    let prefixes: Vec<String> = ids(&list)
        .iter()
        .map(|id| id.split('|').next().unwrap().to_owned())
        .collect();
    assert_eq!(prefixes, ["sms", "voice", "email", "push", "totp"]);
    for (prefix, channel, kind, name) in [
        ("sms", "sms", "phone", "XXXXXXXX0100"),
        ("voice", "voice", "phone", "XXXXXXXX0100"),
        ("email", "email", "email", CAROL),
        ("push", "auth0", "push-notification", "Carol's phone"),
    ] {
        let item = find(&list, prefix);
        assert_eq!(
            item,
            &json!({
                "id": item["id"],
                "authenticator_type": "oob",
                "active": true,
                "type": kind,
                "oob_channel": channel,
                "name": name,
            })
        );
    }
    // SMS and voice share a device id, and push shares one with its OTP twin.
    let suffix = |prefix: &str| {
        find(&list, prefix)["id"]
            .as_str()
            .unwrap()
            .split_once('|')
            .unwrap()
            .1
            .to_owned()
    };
    assert_eq!(suffix("sms"), suffix("voice"));
    assert_eq!(suffix("push"), suffix("totp"));

    // Bad bearer tokens.
    for bearer in ["not-a-token", "Fe26.2*never-issued"] {
        let response = list_authenticators(&tenant, bearer).await;
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        expect_error(
            response,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            Some("Invalid MFA token"),
        )
        .await;
    }
    let response = browser()
        .get(url(&tenant, "mfa/authenticators"))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        Some("Invalid MFA token"),
    )
    .await;
    // An access token for another API is not an MFA API token.
    let tokens = tokens_as(&tenant, BOB, BOB_PASSWORD).await;
    expect_error(
        list_authenticators(&tenant, tokens["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        None,
    )
    .await;
}

#[tokio::test]
async fn mfa_api_access_tokens_need_their_scopes() {
    let tenant = start_mfa().await;
    let reader = carol_mfa_access_token(&tenant, "read:authenticators").await;
    let list = ok_json(list_authenticators(&tenant, &reader).await).await;
    assert_eq!(list.as_array().unwrap().len(), 5);
    // Reading is not enrolling or removing.
    expect_error(
        associate(&tenant, &reader, json!({"authenticator_types": ["otp"]})).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        None,
    )
    .await;
    let sms = find(&list, "sms")["id"].as_str().unwrap().to_owned();
    expect_error(
        delete_authenticator(&tenant, &reader, &sms).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        None,
    )
    .await;
    let remover = carol_mfa_access_token(&tenant, "remove:authenticators").await;
    expect_error(
        list_authenticators(&tenant, &remover).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        None,
    )
    .await;
}

#[tokio::test]
async fn delete_needs_an_mfa_api_access_token_and_cascades() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let list = ok_json(list_authenticators(&tenant, &mfa_token).await).await;
    let sms = find(&list, "sms")["id"].as_str().unwrap().to_owned();
    let push = find(&list, "push")["id"].as_str().unwrap().to_owned();
    // A raw mfa_token cannot delete.
    let response = delete_authenticator(&tenant, &mfa_token, &sms).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");

    let token = carol_mfa_access_token(&tenant, "read:authenticators remove:authenticators").await;
    let response = delete_authenticator(&tenant, &token, &sms).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    // SMS and voice went together; push takes its OTP twin along.
    let response = delete_authenticator(&tenant, &token, &push).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let list = ok_json(list_authenticators(&tenant, &token).await).await;
    let prefixes: Vec<String> = ids(&list)
        .iter()
        .map(|id| id.split('|').next().unwrap().to_owned())
        .collect();
    assert_eq!(prefixes, ["email"]);
    expect_error(
        delete_authenticator(&tenant, &token, &sms).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    expect_error(
        delete_authenticator(&tenant, &token, "totp|dev_0000000000000000").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn associate_otp_with_a_raw_token_then_confirm_it() {
    let tenant = start_mfa().await;
    let (mfa_token, rt, _) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    let body =
        ok_json(associate(&tenant, &mfa_token, json!({"authenticator_types": ["otp"]})).await)
            .await;
    assert_eq!(body["authenticator_type"], "otp");
    let secret = body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    assert_eq!(
        body["barcode_uri"],
        format!(
            "otpauth://totp/tollgate:bob@example.com?secret={secret}&issuer=tollgate&algorithm=SHA1&digits=6&period=30"
        )
    );
    let recovery = body["recovery_codes"][0].as_str().unwrap();
    assert_eq!(recovery.len(), 24);
    assert!(
        recovery
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("totp|dev_"));
    assert!(body.get("binding_method").is_none());

    // Unconfirmed: listed as inactive.
    let list = ok_json(list_authenticators(&tenant, &mfa_token).await).await;
    assert_eq!(find(&list, "totp")["active"], false);
    assert_eq!(find(&list, "recovery-code")["active"], false);
    // Still no active factor, so the raw token may enroll again (a second pending one).
    let second =
        ok_json(associate(&tenant, &mfa_token, json!({"authenticator_types": ["otp"]})).await)
            .await;
    assert_ne!(second["secret"], body["secret"]);
    assert_eq!(second["recovery_codes"], body["recovery_codes"]);

    // Confirm the first with the mfa-otp grant.
    let code = tenant.totp_code(BOB).unwrap();
    let tokens = ok_json(
        mfa_grant(
            &tenant,
            GRANT_OTP,
            &[("mfa_token", &mfa_token), ("otp", &code)],
        )
        .await,
    )
    .await;
    assert!(tokens["access_token"].is_string());
    // The family that met mfa_required keeps its refresh token, which now passes the policy.
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let served = refresh_as(&tenant, CLIENT_ID, CLIENT_SECRET, &rt, &[("audience", API)]).await;
    assert_eq!(served.status(), StatusCode::OK);

    // Now enrolled: a new raw token may not enroll more.
    let (mfa_token, _, required) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    assert_eq!(
        required["mfa_requirements"],
        json!({"challenge": [{"type": "otp"}, {"type": "recovery-code"}]})
    );
    let list = ok_json(list_authenticators(&tenant, &mfa_token).await).await;
    let first = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap();
    assert_eq!(first["active"], true);
    assert_eq!(find(&list, "recovery-code")["active"], true);
    expect_error(
        associate(&tenant, &mfa_token, json!({"authenticator_types": ["otp"]})).await,
        StatusCode::FORBIDDEN,
        "access_denied",
        Some("User is already enrolled."),
    )
    .await;
    // The recovery code given at enrollment works.
    let tokens = ok_json(
        mfa_grant(
            &tenant,
            GRANT_RECOVERY,
            &[("mfa_token", &mfa_token), ("recovery_code", recovery)],
        )
        .await,
    )
    .await;
    assert_ne!(tokens["recovery_code"], recovery);
}

#[tokio::test]
async fn associate_sms_sends_a_code_and_confirms_with_it() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    // Bad requests first: nothing is enrolled by them.
    for (body, error) in [
        (json!({}), "invalid_request"),
        (json!({"authenticator_types": ["oob"]}), "invalid_request"),
        (
            json!({"authenticator_types": ["oob"], "oob_channels": ["sms"]}),
            "invalid_phone_number",
        ),
        (
            json!({"authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "5555550100"}),
            "invalid_phone_number",
        ),
        (
            json!({"authenticator_types": ["webauthn-roaming"]}),
            "unsupported_authenticator_type",
        ),
        (
            json!({"authenticator_types": ["oob"], "oob_channels": ["fax"]}),
            "unsupported_authenticator_type",
        ),
        (
            json!({"authenticator_types": ["oob"], "oob_channels": ["email"], "email": "not-an-email"}),
            "invalid_request",
        ),
    ] {
        expect_error(
            associate(&tenant, &mfa_token, body).await,
            StatusCode::BAD_REQUEST,
            error,
            None,
        )
        .await;
    }
    let response = browser()
        .post(url(&tenant, "mfa/associate"))
        .bearer_auth(&mfa_token)
        .header(header::CONTENT_TYPE, "application/json")
        .body("[not json")
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "invalid_request", None).await;
    assert!(
        ok_json(list_authenticators(&tenant, &mfa_token).await)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    let body = ok_json(
        associate(
            &tenant,
            &mfa_token,
            json!({"authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "+15555550199"}),
        )
        .await,
    )
    .await;
    assert_eq!(body["authenticator_type"], "oob");
    assert_eq!(body["oob_channel"], "sms");
    assert_eq!(body["binding_method"], "prompt");
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 1);
    assert!(body["id"].as_str().unwrap().starts_with("sms|dev_"));
    let message = last_message(&tenant, BOB);
    assert_eq!(message.channel, "sms");
    assert_eq!(message.to, "+15555550199");
    let code = message.code.unwrap();
    assert_eq!(code.len(), 6);

    let oob_code = body["oob_code"].as_str().unwrap();
    assert_error(
        mfa_grant(
            &tenant,
            GRANT_OOB,
            &[
                ("mfa_token", &mfa_token),
                ("oob_code", oob_code),
                ("binding_code", "000000x"),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        Some("Invalid binding_code."),
    )
    .await;
    ok_json(
        mfa_grant(
            &tenant,
            GRANT_OOB,
            &[
                ("mfa_token", &mfa_token),
                ("oob_code", oob_code),
                ("binding_code", &code),
            ],
        )
        .await,
    )
    .await;
    let (mfa_token, _, required) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    assert_eq!(
        required["mfa_requirements"],
        json!({"challenge": [{"type": "phone"}, {"type": "recovery-code"}]})
    );
    let list = ok_json(list_authenticators(&tenant, &mfa_token).await).await;
    assert_eq!(find(&list, "sms")["active"], true);
    assert_eq!(
        find(&list, "voice")["active"],
        true,
        "the voice twin is confirmed too"
    );
}

#[tokio::test]
async fn associate_email_voice_and_form_bodies() {
    let tenant = start_mfa().await;
    // A form-encoded body, defaulting to the user's email.
    let (mfa_token, _, _) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    let response = browser()
        .post(url(&tenant, "mfa/associate"))
        .bearer_auth(&mfa_token)
        .form(&[("authenticator_types", "oob"), ("oob_channels", "email")])
        .send()
        .await
        .unwrap();
    let body = ok_json(response).await;
    assert_eq!(body["oob_channel"], "email");
    assert_eq!(body["binding_method"], "prompt");
    let message = last_message(&tenant, BOB);
    assert_eq!(
        (message.channel, message.to.as_str()),
        (tollgate_tenant::OutboxChannel::Email, BOB)
    );

    let body = ok_json(
        associate(
            &tenant,
            &mfa_token,
            json!({"authenticator_types": "oob", "oob_channels": "voice", "phone_number": "+447700900123"}),
        )
        .await,
    )
    .await;
    assert_eq!(body["oob_channel"], "voice");
    assert!(body["id"].as_str().unwrap().starts_with("voice|dev_"));
    assert_eq!(last_message(&tenant, BOB).channel, "voice");
    // Until an enrollment is confirmed, each one repeats the same pending recovery code.
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn associate_push_waits_for_the_device() {
    let tenant = start_mfa().await;
    let (mfa_token, _, _) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    let body = ok_json(
        associate(
            &tenant,
            &mfa_token,
            json!({"authenticator_types": ["oob"], "oob_channels": ["auth0"]}),
        )
        .await,
    )
    .await;
    assert_eq!(body["oob_channel"], "auth0");
    assert!(body.get("binding_method").is_none());
    let barcode = body["barcode_uri"].as_str().unwrap();
    assert!(
        barcode.starts_with("otpauth://totp/tollgate:bob@example.com?enrollment_tx_id="),
        "{barcode}"
    );
    assert!(barcode.contains("&base_url=http%3A%2F%2F127.0.0.1%3A"));
    let oob_code = body["oob_code"].as_str().unwrap();
    let push = last_message(&tenant, BOB);
    assert_eq!(push.channel, "push");
    assert_eq!(push.state, Some(tollgate_tenant::PushState::Pending));
    assert!(push.code.is_none());

    let fields = [("mfa_token", mfa_token.as_str()), ("oob_code", oob_code)];
    let poll = || mfa_grant(&tenant, GRANT_OOB, &fields);
    assert_error(
        poll().await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
        Some("Authorization pending: please repeat the request in a few seconds."),
    )
    .await;
    assert!(tenant.approve_push(&push.id));
    assert!(!tenant.approve_push(&push.id), "already answered");
    ok_json(poll().await).await;
    let (mfa_token, _, required) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    assert_eq!(
        required["mfa_requirements"]["challenge"],
        json!([{"type": "otp"}, {"type": "push-notification"}, {"type": "recovery-code"}])
    );
    let list = ok_json(list_authenticators(&tenant, &mfa_token).await).await;
    assert_eq!(find(&list, "push")["active"], true);
    assert_eq!(find(&list, "push")["name"], "Auth0 Guardian");
    assert_eq!(find(&list, "totp")["active"], true, "the OTP twin");
}

#[tokio::test]
async fn enroll_scope_allows_more_authenticators() {
    let tenant = start_mfa().await;
    let token = carol_mfa_access_token(&tenant, "enroll read:authenticators").await;
    let body =
        ok_json(associate(&tenant, &token, json!({"authenticator_types": ["otp"]})).await).await;
    assert!(body["secret"].is_string());
    // Carol had no recovery code: this enrollment brings one.
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 1);
    let list = ok_json(list_authenticators(&tenant, &token).await).await;
    let pending: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["active"] == false)
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(pending.len(), 2, "{list}");
    assert!(pending.contains(&body["id"].as_str().unwrap()));
    assert!(pending.iter().any(|id| id.starts_with("recovery-code|")));

    // The access token also stands in for an mfa_token to confirm the enrollment; the answer
    // is a fresh MFA API token with the same scopes.
    let secret = body["secret"].as_str().unwrap();
    let code = totp_code_of(secret);
    let tokens =
        ok_json(mfa_grant(&tenant, GRANT_OTP, &[("mfa_token", &token), ("otp", &code)]).await)
            .await;
    assert_eq!(tokens["scope"], "enroll read:authenticators");
    let list =
        ok_json(list_authenticators(&tenant, tokens["access_token"].as_str().unwrap()).await).await;
    assert!(
        list.as_array().unwrap().iter().all(|a| a["active"] == true),
        "confirmed, with the recovery code: {list}"
    );
    // And it can open a challenge.
    let body = ok_json(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": token, "challenge_type": "oob"}),
        )
        .await,
    )
    .await;
    assert_eq!(body["challenge_type"], "oob");
}

/// The current RFC 6238 code of a Base32 secret, computed independently of the tenant.
fn totp_code_of(secret: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut key) = (0u32, 0, Vec::new());
    for c in secret.bytes() {
        buffer = (buffer << 5) | alphabet.iter().position(|&a| a == c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            key.push((buffer >> bits) as u8);
        }
    }
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(&(now() / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

#[tokio::test]
async fn challenge_picks_an_authenticator_and_sends_codes() {
    let tenant = start_mfa().await;
    let (alice, _, _) = mfa_token_for(&tenant, EMAIL, PASSWORD).await;
    for body in [
        json!({"mfa_token": alice}),
        json!({"mfa_token": alice, "challenge_type": "otp"}),
        json!({"mfa_token": alice, "challenge_type": "otp oob"}),
    ] {
        assert_eq!(
            ok_json(mfa_challenge(&tenant, body).await).await,
            json!({"challenge_type": "otp"})
        );
    }
    expect_error(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": alice, "challenge_type": "oob"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unsupported_challenge_type",
        None,
    )
    .await;
    expect_error(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": alice, "challenge_type": "sms"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unsupported_challenge_type",
        None,
    )
    .await;

    let (carol, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let list = ok_json(list_authenticators(&tenant, &carol).await).await;
    // challenge_type oob picks the first out-of-band authenticator: SMS.
    let body = ok_json(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": carol, "challenge_type": "oob"}),
        )
        .await,
    )
    .await;
    assert_eq!(body["challenge_type"], "oob");
    assert_eq!(body["binding_method"], "prompt");
    assert!(body["oob_code"].as_str().unwrap().len() >= 32);
    assert_eq!(last_message(&tenant, CAROL).channel, "sms");
    // By id: email, voice and push.
    for (prefix, channel) in [("email", "email"), ("voice", "voice"), ("push", "push")] {
        let id = find(&list, prefix)["id"].as_str().unwrap();
        let body = ok_json(
            mfa_challenge(
                &tenant,
                json!({"mfa_token": carol, "challenge_type": "oob", "authenticator_id": id}),
            )
            .await,
        )
        .await;
        let message = last_message(&tenant, CAROL);
        assert_eq!(message.channel, channel);
        if prefix == "push" {
            assert_eq!(
                body.as_object().unwrap().len(),
                2,
                "no binding_method for push: {body}"
            );
            assert!(message.code.is_none());
        } else {
            assert_eq!(body["binding_method"], "prompt");
            assert_eq!(message.code.unwrap().len(), 6);
        }
    }
    let totp = find(&list, "totp")["id"].as_str().unwrap();
    expect_error(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": carol, "challenge_type": "oob", "authenticator_id": totp}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unsupported_challenge_type",
        None,
    )
    .await;
    expect_error(
        mfa_challenge(
            &tenant,
            json!({"mfa_token": carol, "authenticator_id": "sms|dev_doesnotexist0000"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_authenticator_id",
        None,
    )
    .await;

    // Bob has nothing to challenge.
    let (bob, _, _) = mfa_token_for(&tenant, BOB, BOB_PASSWORD).await;
    expect_error(
        mfa_challenge(&tenant, json!({"mfa_token": bob})).await,
        StatusCode::BAD_REQUEST,
        "association_required",
        None,
    )
    .await;

    // Token and client problems.
    expect_error(
        mfa_challenge(&tenant, json!({"mfa_token": "Fe26.2*bogus"})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        None,
    )
    .await;
    let response = browser()
        .post(url(&tenant, "mfa/challenge"))
        .json(&json!({"mfa_token": alice, "client_id": CLIENT_ID, "client_secret": "wrong"}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client", None).await;
    let response = browser()
        .post(url(&tenant, "mfa/challenge"))
        .json(&json!({"mfa_token": alice, "client_id": "static-client", "client_secret": "static-secret"}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "invalid_token", None).await;
    // A form-encoded body with Basic credentials works too.
    let response = browser()
        .post(url(&tenant, "mfa/challenge"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("mfa_token", alice.as_str()), ("challenge_type", "otp")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok_json(response).await, json!({"challenge_type": "otp"}));
}

#[tokio::test]
async fn sms_and_email_sends_are_limited() {
    let tenant = start_mfa().await;
    let (carol, _, _) = mfa_token_for(&tenant, CAROL, CAROL_PASSWORD).await;
    let list = ok_json(list_authenticators(&tenant, &carol).await).await;
    let send = |prefix: &str| {
        let id = find(&list, prefix)["id"].as_str().unwrap().to_owned();
        mfa_challenge(
            &tenant,
            json!({"mfa_token": carol, "challenge_type": "oob", "authenticator_id": id}),
        )
    };
    for _ in 0..10 {
        assert_eq!(send("sms").await.status(), StatusCode::OK);
    }
    expect_error(
        send("sms").await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        None,
    )
    .await;
    // Voice shares the phone's limit; email has its own (20).
    expect_error(
        send("voice").await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        None,
    )
    .await;
    for _ in 0..20 {
        assert_eq!(send("email").await.status(), StatusCode::OK);
    }
    expect_error(
        send("email").await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        None,
    )
    .await;
    assert_eq!(tenant.outbox().len(), 30);
}
