// Exercises the served browser module against a stubbed fetch: every function, the request it
// sends, and the typed error for each failure. Run by tests/browser_module.rs with the module path.
import assert from "node:assert/strict";

const modulePath = process.argv[2];
const calls = [];
let answer = () => ({ status: 200, body: {} });
globalThis.fetch = async (url, init = {}) => {
  calls.push({ url, ...init });
  const { status, body } = answer(url, init);
  return { status, ok: status >= 200 && status < 300, text: async () => (body === undefined ? "" : JSON.stringify(body)) };
};
const m = await import(modulePath);
const last = () => calls[calls.length - 1];

// getUser: the profile, or null when logged out.
answer = () => ({ status: 200, body: { sub: "auth0|1" } });
assert.deepEqual(await m.getUser(), { sub: "auth0|1" });
assert.equal(last().url, "/auth/profile");
answer = () => ({ status: 401, body: { error: "unauthorized" } });
assert.equal(await m.getUser(), null);

// getAccessToken: query string, success, MFA and other errors.
answer = () => ({ status: 200, body: { token: "t", expires_in: 10 } });
assert.equal((await m.getAccessToken({ audience: "https://api", scope: "read:x", refresh: true })).token, "t");
assert.equal(last().url, "/auth/access-token?audience=https%3A%2F%2Fapi&scope=read%3Ax&refresh=true");
answer = () => ({ status: 403, body: { error: "mfa_required", error_description: "MFA", mfa_token: "sealed", mfa_requirements: { challenge: [{ type: "otp" }] } } });
await assert.rejects(m.getAccessToken({ audience: "https://api" }), (e) => {
  assert.ok(e instanceof m.MfaRequiredError && e instanceof m.TollgateError);
  assert.equal(e.mfaToken, "sealed");
  assert.deepEqual(e.mfaRequirements, { challenge: [{ type: "otp" }] });
  assert.equal(e.status, 403);
  return true;
});
answer = () => ({ status: 401, body: { error: { code: "missing_refresh_token", message: "log in again" } } });
await assert.rejects(m.getAccessToken(), (e) => e instanceof m.AccessTokenError && e.code === "missing_refresh_token");

// mfa: bearer token, bodies, camelCase → wire names, typed errors.
answer = () => ({ status: 200, body: [{ id: "totp|dev_1", type: "otp" }] });
assert.equal((await m.mfa.getAuthenticators("tok"))[0].id, "totp|dev_1");
assert.equal(last().url, "/auth/mfa/authenticators");
assert.equal(last().headers.authorization, "Bearer tok");

answer = () => ({ status: 200, body: { challenge_type: "oob", oob_code: "o" } });
await m.mfa.challenge("tok", { challengeType: "oob", authenticatorId: "sms|dev_1" });
assert.deepEqual(JSON.parse(last().body), { mfa_token: "tok", challenge_type: "oob", authenticator_id: "sms|dev_1" });
assert.equal(last().headers.authorization, undefined, "the challenge token travels in the body");

answer = () => ({ status: 200, body: { authenticator_type: "oob", oob_code: "o" } });
await m.mfa.enroll("tok", { factorType: "sms", phoneNumber: "+15555550100" });
assert.deepEqual(JSON.parse(last().body), { authenticator_types: ["oob"], oob_channels: ["sms"], phone_number: "+15555550100" });
await m.mfa.enroll("tok", { factorType: "push" });
assert.deepEqual(JSON.parse(last().body), { authenticator_types: ["oob"], oob_channels: ["auth0"] });
await assert.rejects(m.mfa.enroll("tok", { factorType: "pigeon" }), (e) => e instanceof m.MfaError && e.code === "invalid_request");

answer = () => ({ status: 200, body: { success: true, recovery_code: "NEW" } });
assert.equal((await m.mfa.verify("tok", { recoveryCode: "OLD" })).recovery_code, "NEW");
assert.deepEqual(JSON.parse(last().body), { recovery_code: "OLD" });
await m.mfa.verify("tok", { oobCode: "o", bindingCode: "123456" });
assert.deepEqual(JSON.parse(last().body), { oob_code: "o", binding_code: "123456" });
await assert.rejects(m.mfa.verify("tok", {}), (e) => e instanceof m.MfaError && e.code === "invalid_request");

for (const [body, cls] of [
  [{ error: "mfa_token_expired", error_description: "expired" }, m.MfaTokenExpiredError],
  [{ error: "mfa_token_invalid", error_description: "invalid" }, m.MfaTokenInvalidError],
  [{ error: "mfa_required", error_description: "again", mfa_token: "next" }, m.MfaRequiredError],
  [{ error: "invalid_grant", error_description: "Invalid otp_code." }, m.MfaError],
]) {
  answer = () => ({ status: body.error === "mfa_required" ? 403 : 400, body });
  await assert.rejects(m.mfa.verify("tok", { otp: "000000" }), (e) => e instanceof cls && e.code === body.error);
}

// challengeWithPopup needs a browser.
await assert.rejects(m.mfa.challengeWithPopup({}), (e) => e instanceof m.TollgateError && e.code === "execution_context");
console.log("client.js: all assertions passed");
