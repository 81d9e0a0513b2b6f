// The IDE's flows, through @devforge/client against a real server: accounts and sessions,
// a license from activation to offline verification, the marketplace search, and typed
// problem documents. Run by `cargo xtask test` (with DEVFORGE_BIN) after `npm run build`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDevForgeClient, isProblem, verifyOfflineCertificate } from "../dist/index.js";
import { ADMIN, PASSWORD, startServer } from "./server.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** A client with a session of its own; `login` fills it. */
function session() {
  const state = { token: undefined };
  const api = createDevForgeClient({ baseUrl: server.baseUrl, accessToken: () => state.token });
  return {
    api,
    state,
    async login(email) {
      const { data, error } = await api.POST("/v1/auth/login", { body: { email, password: PASSWORD } });
      assert.equal(error, undefined, `login ${email}`);
      state.token = data.access_token;
      return data;
    },
  };
}

test("sign up, log in, refresh: the old refresh token then fails", async () => {
  const user = session();
  const signedUp = await user.api.POST("/v1/auth/register", {
    body: { email: "ada@client.test", password: PASSWORD },
  });
  assert.equal(signedUp.response.status, 201);
  assert.equal(signedUp.data.user.email, "ada@client.test");

  const first = await user.login("ada@client.test");
  const me = await user.api.GET("/v1/auth/me");
  assert.equal(me.data.email, "ada@client.test");

  const refreshed = await user.api.POST("/v1/auth/refresh", { body: { refresh_token: first.refresh_token } });
  assert.equal(refreshed.response.status, 200);
  assert.notEqual(refreshed.data.refresh_token, first.refresh_token);
  const replayed = await user.api.POST("/v1/auth/refresh", { body: { refresh_token: first.refresh_token } });
  assert.equal(replayed.response.status, 401);
  assert.ok(isProblem(replayed.error), "a problem document");
  assert.equal(typeof replayed.error.code, "string");
});

test("a license: activate, validate, verify offline, reject tampering, deactivate", async () => {
  const admin = session();
  await admin.login(ADMIN);
  const owner = session();
  const registered = await owner.api.POST("/v1/auth/register", {
    body: { email: "grace@client.test", password: PASSWORD },
  });
  await owner.login("grace@client.test");

  const product = await admin.api.POST("/v1/products", {
    body: {
      sku: "forge-pro", name: "Dev Forge Pro", price: 9900, currency: "EUR",
      license_duration_days: 365, max_activations: 2, entitlements: ["pro"],
    },
  });
  assert.equal(product.response.status, 201);
  const issued = await admin.api.POST("/v1/licenses", {
    body: { user_id: registered.data.user.id, product: "forge-pro" },
  });
  assert.equal(issued.response.status, 201);
  const key = issued.data.key;

  // The IDE on this machine: no session needed, the key is the credential.
  const ide = createDevForgeClient({ baseUrl: server.baseUrl });
  const activated = await ide.POST("/v1/licenses/activate", {
    body: { key, fingerprint: "machine-1", name: "Laptop", platform: "linux" },
  });
  assert.equal(activated.response.status, 201);
  const validated = await ide.POST("/v1/licenses/validate", { body: { key, fingerprint: "machine-1" } });
  assert.equal(validated.data.code, "VALID");
  assert.equal(validated.data.valid, true);

  // Offline: the stored certificate and the stored key set, without the server.
  const keys = (await ide.GET("/v1/licenses/public-key")).data;
  const claims = await verifyOfflineCertificate(activated.data.certificate, keys);
  assert.equal(claims.product, "forge-pro");
  assert.equal(claims.fingerprint, "machine-1");
  assert.deepEqual(claims.entitlements, ["pro"]);

  const [head, body, signature] = activated.data.certificate.split(".");
  const flipped = signature.startsWith("A") ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
  await assert.rejects(verifyOfflineCertificate(`${head}.${body}.${flipped}`, keys), "a forged signature");
  const header = JSON.parse(Buffer.from(head, "base64url").toString());
  const otherKid = Buffer.from(JSON.stringify({ ...header, kid: "unknown-key" })).toString("base64url");
  await assert.rejects(verifyOfflineCertificate(`${otherKid}.${body}.${signature}`, keys), "an unknown kid");
  await assert.rejects(
    verifyOfflineCertificate(activated.data.certificate, keys, new Date(Date.now() + 400 * 86_400_000)),
    "an expired certificate",
  );

  const deactivated = await ide.POST("/v1/licenses/deactivate", { body: { key, fingerprint: "machine-1" } });
  assert.ok(deactivated.response.ok, `deactivate: ${deactivated.response.status}`);
  const after = await ide.POST("/v1/licenses/validate", { body: { key, fingerprint: "machine-1" } });
  assert.equal(after.data.code, "NOT_ACTIVATED");

  // Errors are typed problem documents with a stable code.
  // One character changed: the key's check digits catch it before any lookup.
  const last = key.at(-1) === "A" ? "B" : "A";
  const unknown = await ide.POST("/v1/licenses/activate", {
    body: { key: `${key.slice(0, -1)}${last}`, fingerprint: "machine-1" },
  });
  assert.ok(isProblem(unknown.error), "a problem document");
  assert.equal(unknown.response.status, unknown.error.status);
  assert.equal(unknown.error.code, "invalid_license_key", JSON.stringify(unknown.error));
});

test("the marketplace search answers as the user types", async () => {
  const anonymous = createDevForgeClient({ baseUrl: server.baseUrl });
  const found = await anonymous.GET("/v1/extensions", { params: { query: { q: "esl", sort: "relevance" } } });
  assert.equal(found.response.status, 200);
  assert.ok(Array.isArray(found.data.items));
  const refused = await anonymous.GET("/v1/extensions", { params: { query: { per_page: 1000 } } });
  assert.equal(refused.response.status, 422);
  assert.equal(refused.error.code, "validation_failed");
});
