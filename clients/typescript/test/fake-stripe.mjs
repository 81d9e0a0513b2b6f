// The fake Stripe the Rust tests use (localstripe, from PyPI) for the payment flow: the
// same pinned release in the same virtual environment under DEVFORGE_TEST_VENVS (installed
// there on first use, as the Rust harness does), on a free loopback port.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitUntil } from "./server.mjs";

export const SECRET_KEY = "sk_test_devforge";
export const WEBHOOK_SECRET = "whsec_devforge_test";
const REQUIREMENT = "localstripe==1.15.10";

// localstripe's own command binds every interface and writes its state to a shared file.
const LAUNCHER = `
import sys
from aiohttp import web
import localstripe.resources as resources
resources.Store.dump_to_disk = lambda self: None
from localstripe.server import app
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None)
`;

function run(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr ?? result.error}`);
}

function installedPython() {
  const base = process.env.DEVFORGE_TEST_VENVS ?? join(tmpdir(), "devforge-test-venvs");
  const dir = join(base, REQUIREMENT.replace(/[^A-Za-z0-9.]/g, "-"));
  const python = join(dir, "bin", "python");
  const ready = join(dir, ".devforge-ready");
  if (!existsSync(ready)) {
    rmSync(dir, { recursive: true, force: true });
    run("python3", ["-m", "venv", dir]);
    run(join(dir, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", REQUIREMENT]);
    writeFileSync(ready, REQUIREMENT);
  }
  return python;
}

export async function startFakeStripe() {
  const port = await freePort();
  const child = spawn(installedPython(), ["-c", LAUNCHER, String(port)], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const auth = `Basic ${Buffer.from(`${SECRET_KEY}:`).toString("base64")}`;
  const call = async (method, path, form) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: auth, "content-type": "application/x-www-form-urlencoded" },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  };
  await waitUntil(async () => (await call("GET", "/v1/customers")).status === 200, "the fake Stripe");
  return {
    url,
    /** Has the fake Stripe deliver its events, signed, to `endpoint`. */
    async deliverWebhooksTo(endpoint) {
      const { status } = await call("POST", "/_config/webhooks/devforge", { url: endpoint, secret: WEBHOOK_SECRET });
      if (status !== 200) throw new Error(`registering the webhook: ${status}`);
    },
    /** Pays an intent with a test card, as Stripe.js does in the app; its status after. */
    async pay(intentId, card) {
      await call("POST", `/v1/payment_intents/${intentId}`, { payment_method: card });
      await call("POST", `/v1/payment_intents/${intentId}/confirm`);
      return (await call("GET", `/v1/payment_intents/${intentId}`)).body?.status;
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
