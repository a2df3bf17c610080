import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import type { RouteDefinition } from "../../http/route.js";
import type { JobRunner } from "../../jobs/job-runner.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { AlertDeliverer, type AlertLog } from "./deliver.js";
import { ALERT_EVALUATION_JOB, type EvaluationOutcome, evaluateAlertRules } from "./evaluate.js";
import { alertRoutes } from "./routes.js";

/** Alert rules per organisation, their evaluation (a scheduled job) and the delivery of notices. */
export interface AlertsCapability {
  routes: RouteDefinition[];
  deliverer: AlertDeliverer;
  /** One evaluation of every organisation's rules (what the scheduled job runs). */
  evaluate(now?: Date): Promise<EvaluationOutcome>;
  start(): void;
  stop(): Promise<void>;
}

export function createAlertsCapability(
  db: Database,
  jobs: JobRunner,
  secrets: SecretBox,
  config: Config,
  log: AlertLog,
): AlertsCapability {
  const deliverer = new AlertDeliverer(db, secrets, config, log);
  const evaluate = (now?: Date) => evaluateAlertRules(db, now);
  jobs.register(ALERT_EVALUATION_JOB, async () => {
    const outcome = await evaluate();
    // Notices go out now rather than at the next poll.
    if (outcome.raised + outcome.resolved > 0) deliverer.kick();
  });
  jobs.schedule({ kind: ALERT_EVALUATION_JOB, everyMs: config.alertEvaluationSeconds * 1000 });
  return {
    routes: alertRoutes({ db, secrets, webhookLoopback: config.alertWebhookLoopback }),
    deliverer,
    evaluate,
    start: () => deliverer.start(),
    stop: () => deliverer.stop(),
  };
}
