// Reads or writes a session cookie with the real @auth0/nextjs-auth0 stateless session store.
//   node session.mjs read  <secret>  < cookie-header        → the session JSON, or null
//   node session.mjs write <secret>  < session-json         → one Set-Cookie line per cookie
import { RequestCookies, ResponseCookies } from "@edge-runtime/cookies";
import { StatelessSessionStore } from "./node_modules/@auth0/nextjs-auth0/dist/server/session/stateless-session-store.js";

const [mode, secret] = process.argv.slice(2);
const input = await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (c) => (data += c));
  process.stdin.on("end", () => resolve(data));
});
const store = new StatelessSessionStore({ secret });

if (mode === "read") {
  const req = new RequestCookies(new Headers({ cookie: input.trim() }));
  const session = await store.get(req);
  process.stdout.write(JSON.stringify(session));
} else if (mode === "write") {
  const session = JSON.parse(input);
  session.internal.createdAt = Math.floor(Date.now() / 1000);
  const req = new RequestCookies(new Headers());
  const headers = new Headers();
  const res = new ResponseCookies(headers);
  await store.set(req, res, session, true);
  process.stdout.write(headers.getSetCookie().join("\n"));
} else {
  console.error("usage: node session.mjs read|write <secret>");
  process.exit(2);
}
