/**
 * The Dev Forge API for TypeScript. Every path, parameter, body and answer is typed from
 * the server's own OpenAPI document (`schema.d.ts`, generated from `../openapi.json` by
 * openapi-typescript, never edited by hand); requests go through openapi-fetch, so a call
 * that does not match the contract does not compile.
 */
import createClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** What every error answer is: an RFC 9457 problem document with a stable `code`. */
export type Problem = components["schemas"]["Problem"];

/** A client for every operation of the API. */
export type DevForgeClient = Client<paths>;

/** Where the API is, and how to authenticate. */
export interface DevForgeOptions extends ClientOptions {
  /** The current access token, read before each request (none: anonymous). */
  accessToken?: () => string | undefined | Promise<string | undefined>;
}

/** A client for the API at `options.baseUrl` (e.g. `https://api.devforge.example`). */
export function createDevForgeClient(options: DevForgeOptions): DevForgeClient {
  const { accessToken, ...rest } = options;
  const client = createClient<paths>(rest);
  if (accessToken) {
    const bearer: Middleware = {
      async onRequest({ request }) {
        const token = await accessToken();
        if (token) request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    };
    client.use(bearer);
  }
  return client;
}

/** Whether `value` is a problem document, as every error body of the API is. */
export function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const fields = value as { code?: unknown; status?: unknown };
  return typeof fields.code === "string" && typeof fields.status === "number";
}

export { verifyOfflineCertificate } from "./offline.js";
