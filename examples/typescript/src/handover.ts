// Command handover gives every unassigned customer of one resigned WeCom
// member to a colleague, then prints a JSON summary of the transfer calls
// and of the takeover states on stdout. Progress goes to stderr.
//
// Environment: WECOM_BASE_URL (for example https://qyapi.weixin.qq.com),
// WECOM_CORP_ID, WECOM_SECRET, HANDOVER_USERID (the resigned member) and
// TAKEOVER_USERID. Types come from src/wecom.d.ts and src/error-codes.ts,
// which `npm run gen` generates from openapi/wecom-transfer.yaml.

import { setTimeout as sleep } from "node:timers/promises";

import { errorCodes, type ErrorAction } from "./error-codes.js";
import type { components, paths } from "./wecom.js";

type Schemas = components["schemas"];

/** Paths of the calls that take a JSON body by POST. */
type PostPath = {
  [P in keyof paths]: paths[P]["post"] extends { requestBody: unknown } ? P : never;
}[keyof paths];
type PostOperation<P extends PostPath> = NonNullable<paths[P]["post"]>;
type RequestBody<P extends PostPath> = PostOperation<P>["requestBody"]["content"]["application/json"];
type ResponseBody<P extends PostPath> = PostOperation<P>["responses"][200]["content"]["application/json"];

/** Rows per get_unassigned_list page, the maximum that WeCom allows. */
const pageSize = 1000;
/** Customers one transfer call may carry. */
const transferBatch = 100;
/** Maximum attempts of a call whose errcode has the retry_later action. */
const maxAttempts = 4;
const requestTimeoutMs = 30_000;

/** Names of the takeover states that transfer_result reports. */
const statusNames: Record<Schemas["TakeoverStatus"], string> = {
  1: "complete",
  2: "waiting",
  3: "refused",
  4: "limit_reached",
  5: "no_record",
};

interface Config {
  baseURL: string;
  corpID: string;
  secret: string;
  handover: string;
  takeover: string;
}

/** A call that failed with a non-zero top-level errcode. */
class WeComError extends Error {
  constructor(
    readonly path: string,
    readonly errcode: Schemas["ErrorCode"],
    readonly errmsg: string,
  ) {
    super(`${path}: errcode ${errcode} (${errorCodes.get(errcode)?.meaning ?? "unknown code"}): ${errmsg}`);
    this.name = "WeComError";
  }
}

/** Per-errcode count of the customers whose transfer did not start. */
interface FailureCount {
  count: number;
  meaning: string;
  action: ErrorAction;
}

interface Summary {
  handover_userid: string;
  takeover_userid: string;
  unassigned: number;
  requested: number;
  started: number;
  failed: number;
  failed_by_errcode: Record<string, FailureCount>;
  unreported: number;
  results: number;
  statuses: Record<string, number>;
}

function readConfig(): Config {
  const names = ["WECOM_BASE_URL", "WECOM_CORP_ID", "WECOM_SECRET", "HANDOVER_USERID", "TAKEOVER_USERID"];
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(`missing environment variables: ${missing.join(", ")}`);
  }
  const env = (name: string): string => process.env[name] ?? "";
  const baseURL = env("WECOM_BASE_URL").replace(/\/+$/, "");
  if (!URL.canParse(baseURL) || !["http:", "https:"].includes(new URL(baseURL).protocol)) {
    throw new Error(`WECOM_BASE_URL ${JSON.stringify(baseURL)} is not an http or https URL`);
  }
  return {
    baseURL,
    corpID: env("WECOM_CORP_ID"),
    secret: env("WECOM_SECRET"),
    handover: env("HANDOVER_USERID"),
    takeover: env("TAKEOVER_USERID"),
  };
}

function actionOf(errcode: number): ErrorAction {
  // A code the table does not list may be anything, so it is not retried.
  return errorCodes.get(errcode)?.action ?? "fix_input";
}

/**
 * Client sends WeCom calls with a cached access token. It fetches a new
 * token and repeats the call once on refresh_token codes, and backs off and
 * repeats on retry_later codes. The token and the secret travel only in
 * query strings, which no message prints, and fetch errors pass through
 * redact before they reach a message.
 */
class Client {
  private token = "";

  constructor(private readonly config: Config) {}

  async post<P extends PostPath>(path: P, body: RequestBody<P>): Promise<ResponseBody<P>> {
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      if (this.token === "") {
        this.token = await this.fetchToken();
      }
      const reply = await this.send<ResponseBody<P>>(path, { access_token: this.token }, body);
      const action = actionOf(reply.errcode);
      if (action === "refresh_token" && !refreshed) {
        log(`${path}: errcode ${reply.errcode}, fetching a new access token`);
        this.token = "";
        refreshed = true;
        continue;
      }
      if (action === "retry_later" && attempt < maxAttempts) {
        const delayMs = 1000 * 2 ** (attempt - 1);
        log(`${path}: errcode ${reply.errcode}, retrying in ${delayMs} ms`);
        await sleep(delayMs);
        continue;
      }
      if (reply.errcode !== 0) {
        throw new WeComError(path, reply.errcode, reply.errmsg);
      }
      return reply;
    }
  }

  /** Replaces the secret and the current token in text. */
  private redact(text: string): string {
    let out = text.replaceAll(this.config.secret, "[secret]");
    if (this.token !== "") {
      out = out.replaceAll(this.token, "[access_token]");
    }
    return out;
  }

  private async fetchToken(): Promise<string> {
    const path = "/cgi-bin/gettoken";
    const query: paths[typeof path]["get"]["parameters"]["query"] = {
      corpid: this.config.corpID,
      corpsecret: this.config.secret,
    };
    const reply = await this.send<Schemas["GetTokenResponse"]>(path, query);
    if (reply.errcode !== 0) {
      // 40001 means a wrong secret, so fetching again with it cannot help.
      throw new WeComError(path, reply.errcode, reply.errmsg);
    }
    if (!reply.access_token) {
      throw new Error(`${path}: errcode 0 but no access_token in the response`);
    }
    return reply.access_token;
  }

  private async send<T extends Schemas["Envelope"]>(
    path: string,
    query: Record<string, string>,
    body?: unknown,
  ): Promise<T> {
    const url = new URL(this.config.baseURL + path);
    url.search = new URLSearchParams(query).toString();
    const init: RequestInit = { signal: AbortSignal.timeout(requestTimeoutMs) };
    if (body !== undefined) {
      init.method = "POST";
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      throw new Error(`${path}: request failed: ${this.redact(errorText(err))}`);
    }
    if (!response.ok) {
      throw new Error(`${path}: unexpected HTTP status ${response.status}`);
    }
    const reply: unknown = await response.json();
    if (typeof reply !== "object" || reply === null || typeof (reply as { errcode?: unknown }).errcode !== "number") {
      throw new Error(`${path}: response has no numeric errcode`);
    }
    // Only errcode is checked. The rest of the body is trusted to match the
    // spec.
    return reply as T;
  }
}

/**
 * Returns the handover member's unassigned customers, in list order and
 * without duplicates, paging by cursor until next_cursor is empty.
 */
async function listUnassigned(client: Client, handover: string): Promise<string[]> {
  const customers = new Set<string>();
  const seen = new Set<string>();
  let cursor = "";
  for (;;) {
    const page = await client.post("/cgi-bin/externalcontact/get_unassigned_list", {
      cursor,
      page_size: pageSize,
    });
    for (const row of page.info ?? []) {
      if (row.handover_userid === handover) {
        customers.add(row.external_userid);
      }
    }
    cursor = page.next_cursor ?? "";
    if (cursor === "" || page.is_last === true) {
      return [...customers];
    }
    if (seen.has(cursor)) {
      throw new Error(`get_unassigned_list returned cursor ${JSON.stringify(cursor)} twice; stopped to avoid a loop`);
    }
    seen.add(cursor);
  }
}

/**
 * Transfers the customers in batches and adds each per-customer result to
 * the summary. A customer whose errcode is 0 has only started its 24-hour
 * takeover.
 */
async function transferAll(client: Client, config: Config, customers: string[], summary: Summary): Promise<void> {
  for (let i = 0; i < customers.length; i += transferBatch) {
    const batch = customers.slice(i, i + transferBatch);
    const reply = await client.post("/cgi-bin/externalcontact/resigned/transfer_customer", {
      handover_userid: config.handover,
      takeover_userid: config.takeover,
      external_userid: batch,
    });
    summary.requested += batch.length;

    const pending = new Set(batch);
    for (const outcome of reply.customer ?? []) {
      if (!pending.delete(outcome.external_userid)) {
        continue; // not in this batch, or reported twice
      }
      if (outcome.errcode === 0) {
        summary.started++;
        continue;
      }
      summary.failed++;
      const key = String(outcome.errcode);
      const known = errorCodes.get(outcome.errcode);
      const entry = (summary.failed_by_errcode[key] ??= {
        count: 0,
        meaning: known?.meaning ?? "unknown code",
        action: actionOf(outcome.errcode),
      });
      entry.count++;
    }
    summary.unreported += pending.size;
    log(`transferred ${summary.requested} of ${customers.length} customers`);
  }
}

/** Counts the takeover states of every customer of the member pair. */
async function countResults(client: Client, config: Config, summary: Summary): Promise<void> {
  const seen = new Set<string>();
  let cursor = "";
  for (;;) {
    const page = await client.post("/cgi-bin/externalcontact/resigned/transfer_result", {
      handover_userid: config.handover,
      takeover_userid: config.takeover,
      cursor,
    });
    for (const row of page.customer ?? []) {
      const name = statusNames[row.status] ?? `status_${row.status}`;
      summary.statuses[name] = (summary.statuses[name] ?? 0) + 1;
      summary.results++;
    }
    cursor = page.next_cursor ?? "";
    if (cursor === "") {
      return;
    }
    if (seen.has(cursor)) {
      throw new Error(`resigned/transfer_result returned cursor ${JSON.stringify(cursor)} twice; stopped to avoid a loop`);
    }
    seen.add(cursor);
  }
}

function log(message: string): void {
  process.stderr.write(`handover: ${message}\n`);
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return `${err.message}${cause}`;
  }
  return String(err);
}

async function main(): Promise<void> {
  const config = readConfig();
  const client = new Client(config);
  const summary: Summary = {
    handover_userid: config.handover,
    takeover_userid: config.takeover,
    unassigned: 0,
    requested: 0,
    started: 0,
    failed: 0,
    failed_by_errcode: {},
    unreported: 0,
    results: 0,
    statuses: {},
  };

  const customers = await listUnassigned(client, config.handover);
  summary.unassigned = customers.length;
  log(`${customers.length} unassigned customers of ${config.handover}`);

  await transferAll(client, config, customers, summary);
  await countResults(client, config, summary);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

main().catch((err: unknown) => {
  log(errorText(err));
  process.exitCode = 1;
});
