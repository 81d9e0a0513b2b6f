// Paying for a product as the IDE does: the server creates the payment at the fake Stripe,
// the customer pays with a test card (Stripe.js in the app), Stripe's signed webhook reaches
// the server, and the license appears in the customer's account.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { createDevForgeClient } from "../dist/index.js";
import { SECRET_KEY, WEBHOOK_SECRET, startFakeStripe } from "./fake-stripe.mjs";
import { ADMIN, PASSWORD, startServer, waitUntil } from "./server.mjs";

let stripe;
let server;
before(async () => {
  stripe = await startFakeStripe();
  server = await startServer({
    stripe: { url: stripe.url, secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET },
  });
  await stripe.deliverWebhooksTo(`${server.baseUrl}/v1/webhooks/stripe`);
});
after(async () => {
  await server?.stop();
  await stripe?.stop();
});

async function loggedIn(email, register) {
  const state = { token: undefined };
  const api = createDevForgeClient({ baseUrl: server.baseUrl, accessToken: () => state.token });
  const body = { email, password: PASSWORD };
  const { data, error } = register
    ? await api.POST("/v1/auth/register", { body })
    : await api.POST("/v1/auth/login", { body });
  assert.equal(error, undefined, email);
  state.token = data.access_token;
  return api;
}

test("pay for a product with a test card and see the license appear", async () => {
  const admin = await loggedIn(ADMIN, false);
  const product = await admin.POST("/v1/products", {
    body: { sku: "forge-team", name: "Dev Forge Team", price: 4900, currency: "EUR", max_activations: 3 },
  });
  assert.equal(product.response.status, 201, JSON.stringify(product.error));

  const buyer = await loggedIn("ken@client.test", true);
  const idempotencyKey = randomUUID();
  const started = await buyer.POST("/v1/payments", {
    params: { header: { "Idempotency-Key": idempotencyKey } },
    body: { product: "forge-team" },
  });
  assert.equal(started.response.status, 201, JSON.stringify(started.error));
  assert.equal(started.data.amount, 4900);
  assert.ok(started.data.client_secret, "the app confirms with the client secret");
  const retried = await buyer.POST("/v1/payments", {
    params: { header: { "Idempotency-Key": idempotencyKey } },
    body: { product: "forge-team" },
  });
  assert.equal(retried.response.status, 200, "a retry with the same key is the same payment");
  assert.equal(retried.data.id, started.data.id);

  assert.equal(await stripe.pay(started.data.stripe_payment_intent_id, "pm_card_visa"), "succeeded");

  let licenses;
  await waitUntil(async () => {
    licenses = (await buyer.GET("/v1/licenses")).data;
    return licenses.total === 1;
  }, "the license after Stripe's webhook");
  assert.equal(licenses.items[0].product, "forge-team");
  assert.equal(licenses.items[0].status, "active");
  assert.equal(licenses.items[0].max_activations, 3);
  const payment = await buyer.GET("/v1/payments/{id}", { params: { path: { id: started.data.id } } });
  assert.equal(payment.data.status, "succeeded");
});
