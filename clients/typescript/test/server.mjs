// A real `devforge` server for the client's tests: the binary named in DEVFORGE_BIN, on a
// free loopback port, over a fresh SQLite database in a temporary directory, with an admin
// and a support agent created as an operator does (`devforge user create --password-stdin`),
// taking payments through the fake Stripe when one is given.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PASSWORD = "correct horse battery staple 42";
export const ADMIN = "admin@client.test";
export const SUPPORT = "agent@client.test";

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 50 ms for up to 10 s. */
export async function waitUntil(check, what) {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      if (await check()) return;
    } catch {
      // not answering yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not come up`);
}

export async function startServer({ stripe } = {}) {
  const binary = process.env.DEVFORGE_BIN;
  if (!binary) throw new Error("DEVFORGE_BIN must name the devforge binary (cargo xtask test sets it)");
  const dataDir = mkdtempSync(join(tmpdir(), "devforge-client-"));
  const port = await freePort();
  const env = {
    ...process.env,
    DEVFORGE_DATA_DIR: dataDir,
    DEVFORGE_LISTEN: `127.0.0.1:${port}`,
    DEVFORGE_RATE_LIMIT_ENABLED: "false",
    DEVFORGE_BCRYPT_COST: "10",
    DEVFORGE_LOG: "warn",
    ...(stripe && {
      DEVFORGE_STRIPE_SECRET_KEY: stripe.secretKey,
      DEVFORGE_STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      DEVFORGE_STRIPE_API_BASE: `${stripe.url}/`,
    }),
  };
  for (const [email, role] of [[ADMIN, "admin"], [SUPPORT, "support"]]) {
    const created = spawnSync(
      binary,
      ["user", "create", "--email", email, "--password-stdin", "--role", role],
      { env, input: `${PASSWORD}\n`, encoding: "utf8" },
    );
    if (created.status !== 0) throw new Error(`creating ${email}: ${created.stderr}`);
  }
  const child = spawn(binary, ["serve"], { env, stdio: ["ignore", "ignore", "inherit"] });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntil(async () => (await fetch(`${baseUrl}/health/ready`)).ok, "the server");
  return {
    baseUrl,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
