// The IDE's flows, through @devforge/client against a real server: accounts and sessions,
// a license from activation to offline verification, the marketplace from search to a
// checked download and a review, support tickets and the knowledge base, and typed problem
// documents. Run by `cargo xtask test` (with DEVFORGE_BIN) after `npm run build`.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { createDevForgeClient, isProblem, verifyOfflineCertificate } from "../dist/index.js";
import { ADMIN, PASSWORD, SUPPORT, startServer } from "./server.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** A client with a session of its own; `login` fills it, `signUp` registers then logs in. */
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
    async signUp(email) {
      const { data, error } = await api.POST("/v1/auth/register", { body: { email, password: PASSWORD } });
      assert.equal(error, undefined, `register ${email}`);
      state.token = data.access_token;
      return data.user;
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

test("the marketplace: publish, approve, find as typed, download with a checked hash, review once", async () => {
  const admin = session();
  await admin.login(ADMIN);
  const publisher = session();
  await publisher.signUp("linus@client.test");

  const created = await publisher.api.POST("/v1/extensions", {
    body: {
      name: "forge-lint", display_name: "Forge Lint", category: "linters",
      description: "Lints code as you type", tags: ["lint"],
    },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));

  const pkg = Buffer.from("forge-lint package contents ".repeat(64));
  const uploaded = await publisher.api.POST("/v1/extensions/{name}/versions", {
    params: { path: { name: "forge-lint" }, query: { version: "1.0.0", changelog: "First release" } },
    body: pkg,
    bodySerializer: (bytes) => bytes,
    headers: { "content-type": "application/octet-stream" },
  });
  assert.equal(uploaded.response.status, 201, JSON.stringify(uploaded.error));
  assert.equal(uploaded.data.state, "pending");
  const expected = createHash("sha256").update(pkg).digest("hex");
  assert.equal(uploaded.data.sha256, expected);

  const anonymous = createDevForgeClient({ baseUrl: server.baseUrl });
  const unpublished = await anonymous.GET("/v1/extensions/{name}/versions/{version}/download", {
    params: { path: { name: "forge-lint", version: "1.0.0" } },
    parseAs: "arrayBuffer",
  });
  assert.equal(unpublished.response.status, 404, "nothing is served before review");

  const approved = await admin.api.POST("/v1/extensions/{name}/versions/{version}/approve", {
    params: { path: { name: "forge-lint", version: "1.0.0" } },
  });
  assert.equal(approved.response.status, 200, JSON.stringify(approved.error));

  const found = await anonymous.GET("/v1/extensions", { params: { query: { q: "forge-li" } } });
  assert.equal(found.data.items[0]?.name, "forge-lint", "a prefix of the name finds it first");
  assert.equal(found.data.items[0].latest_version, "1.0.0");

  const download = await anonymous.GET("/v1/extensions/{name}/versions/{version}/download", {
    params: { path: { name: "forge-lint", version: "1.0.0" } },
    parseAs: "arrayBuffer",
  });
  assert.equal(download.response.status, 200);
  const received = createHash("sha256").update(Buffer.from(download.data)).digest("hex");
  assert.equal(received, expected, "the package arrives as uploaded");

  const reviewer = session();
  await reviewer.signUp("margaret@client.test");
  const review = await reviewer.api.POST("/v1/extensions/{name}/reviews", {
    params: { path: { name: "forge-lint" } },
    body: { rating: 5, title: "Fast", body: "Catches what I miss." },
  });
  assert.equal(review.response.status, 201, JSON.stringify(review.error));
  const again = await reviewer.api.POST("/v1/extensions/{name}/reviews", {
    params: { path: { name: "forge-lint" } },
    body: { rating: 1 },
  });
  assert.equal(again.response.status, 409);
  assert.equal(again.error.code, "already_reviewed");
  const reviews = await anonymous.GET("/v1/extensions/{name}/reviews", {
    params: { path: { name: "forge-lint" } },
  });
  assert.deepEqual(reviews.data.items.map((r) => r.rating), [5]);
  const stats = await publisher.api.GET("/v1/extensions/{name}/stats", { params: { path: { name: "forge-lint" } } });
  assert.equal(stats.data.total, 1, "the download was counted, for the owner to see");
  const hidden = await anonymous.GET("/v1/extensions/{name}/stats", { params: { path: { name: "forge-lint" } } });
  assert.equal(hidden.response.status, 401, "figures are the owner's");
});

test("support: a ticket opened by a user, answered by staff, read back without staff notes", async () => {
  const user = session();
  await user.signUp("barbara@client.test");
  const agent = session();
  await agent.login(SUPPORT);

  const opened = await user.api.POST("/v1/support/tickets", {
    body: { subject: "Activation fails", body: "The IDE says my key is invalid.", category: "licensing" },
  });
  assert.equal(opened.response.status, 201, JSON.stringify(opened.error));
  const id = opened.data.id;

  const note = await agent.api.POST("/v1/support/tickets/{id}/messages", {
    params: { path: { id } },
    body: { body: "Key looks fine on our side.", internal: true },
  });
  assert.equal(note.response.status, 201, JSON.stringify(note.error));
  const reply = await agent.api.POST("/v1/support/tickets/{id}/messages", {
    params: { path: { id } },
    body: { body: "Please copy the key again without spaces." },
  });
  assert.equal(reply.response.status, 201);

  const thread = await user.api.GET("/v1/support/tickets/{id}/messages", { params: { path: { id } } });
  assert.equal(thread.response.status, 200);
  const bodies = thread.data.items.map((m) => [m.from_staff, m.body]);
  assert.deepEqual(bodies, [
    [false, "The IDE says my key is invalid."],
    [true, "Please copy the key again without spaces."],
  ]);

  const stranger = session();
  await stranger.signUp("eve@client.test");
  const hidden = await stranger.api.GET("/v1/support/tickets/{id}", { params: { path: { id } } });
  assert.equal(hidden.response.status, 404, "another user's ticket does not exist for them");
});

test("the knowledge base: an article published by staff, found and read by anyone", async () => {
  const agent = session();
  await agent.login(SUPPORT);
  const created = await agent.api.POST("/v1/kb/articles", {
    body: {
      slug: "offline-activation", title: "Activating offline", category: "licensing",
      body: "Copy the certificate to the machine, then start the IDE.", status: "published",
    },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));

  const reader = createDevForgeClient({ baseUrl: server.baseUrl });
  const found = await reader.GET("/v1/kb/articles", { params: { query: { q: "offline" } } });
  assert.deepEqual(found.data.items.map((a) => a.slug), ["offline-activation"]);
  const article = await reader.GET("/v1/kb/articles/{slug}", { params: { path: { slug: "offline-activation" } } });
  assert.equal(article.data.title, "Activating offline");
  assert.match(article.data.body, /certificate/);
  const missing = await reader.GET("/v1/kb/articles/{slug}", { params: { path: { slug: "no-such-article" } } });
  assert.equal(missing.response.status, 404);
  assert.ok(isProblem(missing.error));
});
