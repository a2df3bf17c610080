import type { Database } from "../db/database.js";
import type { DeviceAuthenticator } from "../http/authenticate.js";
import type { RouteDefinition } from "../http/route.js";
import { agentRoutes } from "./agent-routes.js";
import { AgentSessionCache } from "./agent-sessions.js";
import type { CheckInSettings } from "./check-in.js";
import type { CriticalityListener } from "./device-admin.js";
import { ONLINE_INTERVALS } from "./device-queries.js";
import { completeRotation, misuseRecorder } from "./device-tokens.js";
import { deviceRoutes } from "./devices-routes.js";
import { enrollmentTokenRoutes } from "./enrollment-tokens-routes.js";
import { groupRoutes } from "./groups-routes.js";
import { InventoryIngest } from "./inventory-ingest.js";
import { type JobResultListener, JobWaiters } from "./jobs.js";
import { PackageSets } from "./package-sets.js";
import { PresenceRecorder } from "./presence.js";
import { listenLocally, type Signal, SignalPoller } from "./signals.js";
import { SoftwareCatalog } from "./software-catalog.js";

export const DEFAULT_DEVICE_SETTINGS: CheckInSettings = { checkInIntervalSeconds: 60, tokenRotationDays: 30 };

export interface DevicesCapability {
  routes: RouteDefinition[];
  authenticateDevice: DeviceAuthenticator;
  sessions: AgentSessionCache;
  presence: PresenceRecorder;
  ingest: InventoryIngest;
  signals: SignalPoller;
  /** Listens for criticality changes, in the change's transaction. */
  onCriticalityChange(listener: CriticalityListener): void;
  /** Listens for applied job results, in the result's transaction. */
  onJobResult(listener: JobResultListener): void;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Everything about devices: enrolment, the agent API and its in-memory check-in path, inventories,
 * jobs, and the operator API. The in-memory parts are per process; the signal poller keeps them in
 * step with what other processes changed.
 */
export function createDevicesCapability(
  db: Database,
  settings: CheckInSettings = DEFAULT_DEVICE_SETTINGS,
  log: (error: unknown, message: string) => void = () => {},
): DevicesCapability {
  const sessions = new AgentSessionCache(
    db,
    (session, tokenId, client) => completeRotation(db, session, tokenId, client),
    misuseRecorder(db, (error) => log(error, "could not record a device token's misuse")),
  );
  const presence = new PresenceRecorder(db, (error) => log(error, "could not record device presence"));
  const ingest = new InventoryIngest(db, new SoftwareCatalog(), new PackageSets());
  const waiters = new JobWaiters();
  const applySignal = (signal: Signal) => {
    switch (signal.kind) {
      case "credentials_changed":
        sessions.forget(signal.deviceId);
        waiters.wake(signal.deviceId);
        break;
      case "jobs_queued": {
        const session = sessions.forDevice(signal.deviceId);
        if (session) {
          session.jobsPending = true;
          session.jobsEpoch++;
        }
        waiters.wake(signal.deviceId);
        break;
      }
      case "inventory_requested": {
        const session = sessions.forDevice(signal.deviceId);
        if (session) session.inventoryRequested = true;
        break;
      }
    }
  };
  let stopListening = () => {};
  const signals = new SignalPoller(db, applySignal, (error) => log(error, "could not read agent signals"));
  const onlineSeconds = settings.checkInIntervalSeconds * ONLINE_INTERVALS;
  const criticalityListeners: CriticalityListener[] = [];
  const jobResultListeners: JobResultListener[] = [];
  return {
    routes: [
      ...agentRoutes({ db, sessions, presence, ingest, waiters, settings, jobResults: jobResultListeners }),
      ...enrollmentTokenRoutes(db),
      ...deviceRoutes(db, onlineSeconds, criticalityListeners),
      ...groupRoutes(db),
    ],
    authenticateDevice: (token, deviceId, client) => sessions.authenticate(token, deviceId, client),
    sessions,
    presence,
    ingest,
    signals,
    onCriticalityChange: (listener) => criticalityListeners.push(listener),
    onJobResult: (listener) => jobResultListeners.push(listener),
    start() {
      stopListening = listenLocally(applySignal);
      signals.start();
      presence.start();
    },
    async stop() {
      stopListening();
      waiters.wakeAll();
      await signals.stop();
      await presence.stop();
    },
  };
}
