import { MongoClient, type Db } from 'mongodb';
import { ApplicationRepository } from './applications';
import { DeploymentRepository } from './deployments';
import { PackageRepository } from './packages';
import { AnalysisReportRepository } from './analysis-reports';
import { WebhookDeliveryRepository } from './webhook-deliveries';
import { AuditRepository } from './audit';
import { GuardEvaluationRepository } from './guard-evaluations';
import { MachineEventRepository } from './machine-events';
import { TokenRepository } from './tokens';
import { SshHostKeyRepository } from './ssh-host-keys';
import { NotifyChannelRepository } from './notify-channels';

export interface MongoOptions {
  uri: string;
  dbName: string;
  /** How long an operation may wait for a server before it fails; keeps /healthz and requests prompt. */
  timeoutMs: number;
}

/** Every repository relguard has, over one database. */
export interface Repositories {
  applications: ApplicationRepository;
  deployments: DeploymentRepository;
  packages: PackageRepository;
  analysisReports: AnalysisReportRepository;
  webhookDeliveries: WebhookDeliveryRepository;
  tokens: TokenRepository;
  audit: AuditRepository;
  guardEvaluations: GuardEvaluationRepository;
  machineEvents: MachineEventRepository;
  /** Host keys trusted on first use (SSH_HOST_KEY_POLICY=accept-new); `_id` is the index. */
  sshHostKeys: SshHostKeyRepository;
  /** The notification channels (`_id` is the name): read at each send, never cached. */
  notifyChannels: NotifyChannelRepository;
}

/** The process's one MongoClient and what hangs off it. */
export interface Store extends Repositories {
  client: MongoClient;
  db: Db;
  /** true when the server answers a ping. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connects lazily (the first operation connects, and reconnects after an outage) so that a
 * process starts even while MongoDB is down; call ensureIndexes() once at start-up.
 */
export function openStore(options: MongoOptions): Store {
  const client = new MongoClient(options.uri, {
    serverSelectionTimeoutMS: options.timeoutMs,
    connectTimeoutMS: options.timeoutMs,
    appName: 'relguard',
  });
  const db = client.db(options.dbName);
  return {
    client,
    db,
    ...createRepositories(db),
    async ping() {
      try {
        await db.command({ ping: 1 }, { timeoutMS: options.timeoutMs });
        return true;
      } catch {
        return false;
      }
    },
    close: () => client.close(),
  };
}

export function createRepositories(db: Db): Repositories {
  return {
    applications: new ApplicationRepository(db),
    deployments: new DeploymentRepository(db),
    packages: new PackageRepository(db),
    analysisReports: new AnalysisReportRepository(db),
    webhookDeliveries: new WebhookDeliveryRepository(db),
    tokens: new TokenRepository(db),
    audit: new AuditRepository(db),
    guardEvaluations: new GuardEvaluationRepository(db),
    machineEvents: new MachineEventRepository(db),
    sshHostKeys: new SshHostKeyRepository(db),
    notifyChannels: new NotifyChannelRepository(db),
  };
}

/** Creates the indexes every repository needs; idempotent. */
export async function ensureIndexes(repositories: Repositories): Promise<void> {
  await Promise.all([
    repositories.applications.ensureIndexes(),
    repositories.deployments.ensureIndexes(),
    repositories.packages.ensureIndexes(),
    repositories.analysisReports.ensureIndexes(),
    repositories.webhookDeliveries.ensureIndexes(),
    repositories.tokens.ensureIndexes(),
    repositories.audit.ensureIndexes(),
    repositories.guardEvaluations.ensureIndexes(),
    repositories.machineEvents.ensureIndexes(),
  ]);
}
