// The payments page of the Tollgate demo. Calls the app's /api/payments; when the payments API
// needs a second factor (403 mfa_required), asks for a one-time code with Tollgate's browser
// module (mfa.getAuthenticators, mfa.challenge, mfa.verify) and calls the API again.
//
// No framework and no markup from strings: every text goes in with textContent, so nothing the
// server or the user sends is ever parsed as HTML.

const root = document.getElementById("payments");
const statusLine = document.getElementById("payments-status");
const alertLine = document.getElementById("payments-error");
const form = document.getElementById("payments-mfa");
const input = document.getElementById("payments-code");
const button = document.getElementById("payments-verify");
const result = document.getElementById("payments-result");

// The browser module's path comes from the page, so custom auth routes work too.
const { mfa, MfaRequiredError, MfaTokenExpiredError, MfaTokenInvalidError } = await import(
  root.dataset.clientJs
);

/** The `mfa_token` of the pending verification. */
let mfaToken = null;

function setStatus(text) {
  statusLine.textContent = text;
}

/** Shows `text` in the alert, optionally followed by a link. */
function showError(text, link) {
  alertLine.replaceChildren(document.createTextNode(text));
  if (link) {
    const a = document.createElement("a");
    a.href = link.href;
    a.textContent = link.text;
    alertLine.append(" ", a);
  }
}

function clearError() {
  alertLine.replaceChildren();
  input.removeAttribute("aria-invalid");
}

/** What went wrong, from either error shape: `{error, error_description}` or `{error: {code, message}}`. */
function describe(body) {
  if (body && typeof body.error === "object" && body.error) {
    return body.error.message || body.error.code || "unknown error";
  }
  return (body && (body.error_description || body.error)) || "unknown error";
}

async function loadPayments() {
  setStatus("Loading your payments…");
  let resp;
  let body;
  try {
    resp = await fetch(root.dataset.api, {
      headers: { accept: "application/json" },
      credentials: "same-origin",
    });
    body = await resp.json().catch(() => ({}));
  } catch {
    setStatus("");
    showError("The payments could not be loaded: the app did not answer.", {
      href: location.pathname,
      text: "Reload the page",
    });
    return;
  }
  if (resp.ok) {
    showPayments(body);
  } else if (resp.status === 403 && body.error === "mfa_required") {
    await askForCode(new MfaRequiredError(body, resp.status));
  } else if (resp.status === 401) {
    setStatus("");
    showError("Your session has ended.", { href: root.dataset.login, text: "Log in again" });
  } else {
    setStatus("");
    showError(`The payments could not be loaded (${describe(body)}).`);
  }
}

/** Prepares an OTP challenge for `required` and shows the code form. */
async function askForCode(required) {
  const requirements = required.mfaRequirements || {};
  if (requirements.enroll) {
    setStatus("");
    showError("The payments API needs a second factor, and you have not set one up yet.", {
      href: "/billing",
      text: "Set up an authenticator app on the Billing page, then come back",
    });
    return;
  }
  try {
    const authenticators = await mfa.getAuthenticators(required.mfaToken);
    const otp = authenticators.find((a) => a.authenticator_type === "otp" && a.active);
    if (!otp) {
      setStatus("");
      showError("The payments API needs a code from an authenticator app, and you have none.", {
        href: "/billing",
        text: "Set one up on the Billing page",
      });
      return;
    }
    await mfa.challenge(required.mfaToken, { challengeType: "otp", authenticatorId: otp.id });
  } catch (error) {
    handleMfaError(error);
    return;
  }
  mfaToken = required.mfaToken;
  setStatus("The payments API needs a second factor.");
  form.hidden = false;
  input.focus();
}

/** Shows what an MFA call's failure means and what to do. */
function handleMfaError(error) {
  if (error instanceof MfaTokenExpiredError || error instanceof MfaTokenInvalidError) {
    form.hidden = true;
    showError("This verification has expired.", { href: location.pathname, text: "Start again" });
    return;
  }
  switch (error && error.code) {
    case "invalid_grant":
      showError("The code is not valid. Try again.");
      break;
    case "too_many_attempts":
      showError("Too many wrong codes. Wait a few minutes, then try again.");
      break;
    default:
      showError(`The verification failed (${(error && (error.description || error.code)) || error}).`);
  }
  if (!form.hidden) {
    input.value = "";
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const otp = input.value.trim();
  if (!/^[0-9]{6}$/.test(otp)) {
    showError("Enter the 6 digits your authenticator app shows.");
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  clearError();
  button.disabled = true;
  try {
    await mfa.verify(mfaToken, { otp });
  } catch (error) {
    handleMfaError(error);
    return;
  } finally {
    button.disabled = false;
  }
  mfaToken = null;
  form.hidden = true;
  input.value = "";
  await loadPayments();
});

/** Renders `{payments, token_audience}` as a table. */
function showPayments(body) {
  clearError();
  form.hidden = true;
  const payments = Array.isArray(body.payments) ? body.payments : [];
  setStatus(`${payments.length} payments, read with an access token for ${body.token_audience}.`);

  const table = document.createElement("table");
  table.id = "payments-table";
  table.className = "ledger";
  table.createCaption().textContent = "Recent payments";
  const headRow = table.createTHead().insertRow();
  for (const title of ["Payment", "Date", "Payee", "Amount", "Status"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = title;
    headRow.append(th);
  }
  const tbody = table.createTBody();
  for (const p of payments) {
    const row = tbody.insertRow();
    const id = document.createElement("th");
    id.scope = "row";
    id.textContent = p.id;
    row.append(id);
    const date = document.createElement("time");
    date.dateTime = p.date;
    date.textContent = p.date;
    row.insertCell().append(date);
    for (const text of [p.payee, `${p.amount} ${p.currency}`, p.status]) {
      row.insertCell().textContent = text;
    }
  }
  result.replaceChildren(table);
}

await loadPayments();
