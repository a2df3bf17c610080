import { readFile } from "node:fs/promises";
import { AGENT_API, type EnrollResponse, isWellFormedToken } from "@patchpilot/protocol";
import { collectFacts } from "../collectors/index.js";
import type { Log } from "../log.js";
import type { AgentState } from "../state/agent-state.js";
import { AgentClient } from "../transport/client.js";
import { fetchPinnedRoot } from "../transport/pinned-tls.js";
import { AGENT_VERSION } from "../version.js";

export interface EnrollOptions {
  server: string;
  token: string;
  /** PatchPilot's root CA certificate, as a file. */
  caFile?: string;
  /** Or the SHA-256 pin of its public key (`sha256/<base64>`), as the server prints it. */
  caPin?: string;
  /** The filesystem root whose facts are reported (a sandbox in tests; `/` otherwise). */
  root?: string;
}

export class EnrollmentError extends Error {
  override name = "EnrollmentError";
}

/**
 * Enrols this machine: trusts the given root (and nothing else), sends the machine's facts with the
 * organisation's enrolment token, and keeps only the device token the server answers with.
 */
export async function enroll(state: AgentState, options: EnrollOptions, log: Log): Promise<EnrollResponse> {
  if (!isWellFormedToken("enrollment", options.token)) {
    throw new EnrollmentError("the enrolment token is not valid: copy it whole (it starts with ppk_)");
  }
  let server: URL;
  try {
    server = new URL(options.server);
  } catch {
    throw new EnrollmentError(`--server is not a URL: ${options.server}`);
  }
  if (server.protocol !== "https:") throw new EnrollmentError("--server must be an https:// URL");
  if ((options.caFile === undefined) === (options.caPin === undefined)) {
    throw new EnrollmentError(
      "give the server's root certificate with --ca-file, or its pin with --ca-pin (one of them)",
    );
  }
  if (options.caPin !== undefined && !/^(sha256\/)?[A-Za-z0-9+/]{43}=$/.test(options.caPin)) {
    throw new EnrollmentError("--ca-pin must look like sha256/<44 base64 characters>");
  }
  const caPem =
    options.caFile !== undefined
      ? await readFile(options.caFile, "utf8")
      : await fetchPinnedRoot(server, options.caPin as string);

  await state.init();
  const { facts, hardwareId } = await collectFacts({
    agentVersion: AGENT_VERSION,
    ...(options.root ? { root: options.root } : {}),
  });
  const client = new AgentClient({ serverUrl: server, caPem });
  try {
    const enrolled = await client.send<EnrollResponse>("POST", AGENT_API.enroll, {
      token: options.token,
      body: { hardwareId, facts },
    });
    await state.saveCa(caPem);
    await state.saveCredentials({
      serverUrl: server.origin,
      deviceId: enrolled.deviceId,
      organizationId: enrolled.organizationId,
      token: enrolled.deviceToken,
    });
    // A fresh enrolment starts a fresh inventory history.
    await state.forgetAcknowledgedInventory();
    log(
      "info",
      `enrolled as device ${enrolled.deviceId}${enrolled.reenrolled ? " (took over this machine's earlier device)" : ""}`,
    );
    return enrolled;
  } finally {
    client.close();
  }
}
