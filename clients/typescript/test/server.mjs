// A real `devforge` server for the client's tests: the binary named in DEVFORGE_BIN, on a
// free loopback port, over a fresh SQLite database in a temporary directory, with an admin
// created as an operator does (`devforge user create --password-stdin`).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PASSWORD = "correct horse battery staple 42";
export const ADMIN = "admin@client.test";

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export async function startServer() {
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
  };
  const created = spawnSync(
    binary,
    ["user", "create", "--email", ADMIN, "--password-stdin", "--role", "admin"],
    { env, input: `${PASSWORD}\n`, encoding: "utf8" },
  );
  if (created.status !== 0) throw new Error(`creating the admin: ${created.stderr}`);
  const child = spawn(binary, ["serve"], { env, stdio: ["ignore", "ignore", "inherit"] });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      const ready = await fetch(`${baseUrl}/health/ready`);
      if (ready.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    baseUrl,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
