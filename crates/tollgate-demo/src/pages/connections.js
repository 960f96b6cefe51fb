// The connections page of the Tollgate demo. Reads the user's linked accounts, the connections
// on offer and the sign-in methods from the My Account API through the app's proxy (same origin,
// the session cookie, a `scope` header), and unlinks an account with DELETE.
//
// No framework and no markup from strings: every text goes in with textContent.

const root = document.getElementById("connections");
const me = root.dataset.me;
const connectRoute = root.dataset.connect;
const alertLine = document.getElementById("connections-error");

/** Calls the My Account API through the proxy; returns the parsed JSON (or null for 204). */
async function myAccount(path, scope, init = {}) {
  const response = await fetch(`${me}/v1${path}`, {
    ...init,
    headers: { accept: "application/json", scope },
    credentials: "same-origin",
  });
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const why = body.detail || body.error?.message || body.error_description || response.statusText;
    throw new Error(`${response.status}: ${why}`);
  }
  return body;
}

function item(text, extra) {
  const li = document.createElement("li");
  li.textContent = text;
  if (extra) li.append(" ", extra);
  return li;
}

async function loadLinked() {
  const status = document.getElementById("linked-status");
  const list = document.getElementById("linked");
  const { accounts } = await myAccount("/connected-accounts/accounts", "read:me:connected_accounts");
  list.replaceChildren(
    ...accounts.map((account) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Disconnect ${account.connection}`;
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await myAccount(
            `/connected-accounts/accounts/${encodeURIComponent(account.id)}`,
            "delete:me:connected_accounts",
            { method: "DELETE" },
          );
          await loadLinked();
        } catch (e) {
          alertLine.textContent = `Could not disconnect: ${e.message}`;
          button.disabled = false;
        }
      });
      const scopes = (account.scopes || []).join(" ");
      return item(`${account.connection} (linked ${account.created_at}${scopes ? `; ${scopes}` : ""})`, button);
    }),
  );
  status.textContent = accounts.length
    ? `${accounts.length} linked account${accounts.length === 1 ? "" : "s"}.`
    : "No linked accounts yet.";
}

async function loadOffered() {
  const list = document.getElementById("offered");
  const { connections } = await myAccount("/connected-accounts/connections", "read:me:connected_accounts");
  list.replaceChildren(
    ...connections.map((connection) => {
      const name = connection.name || connection;
      const a = document.createElement("a");
      const query = new URLSearchParams({ connection: name, returnTo: location.pathname });
      a.href = `${connectRoute}?${query}`;
      a.textContent = `Connect ${name}`;
      return item("", a);
    }),
  );
}

async function loadMethods() {
  const status = document.getElementById("methods-status");
  const list = document.getElementById("methods");
  const { authentication_methods: methods } = await myAccount(
    "/authentication-methods",
    "read:me:authentication_methods",
  );
  list.replaceChildren(...methods.map((m) => item(`${m.type}${m.name ? ` (${m.name})` : ""}`)));
  status.textContent = methods.length ? "" : "Only your password.";
}

for (const load of [loadLinked, loadOffered, loadMethods]) {
  load().catch((e) => {
    alertLine.textContent = `The My Account API could not be read: ${e.message}`;
  });
}
