import type { Collection, Db } from 'mongodb';
import type { AnalysisReport } from '../../domain';

type AnalysisReportDocument = AnalysisReport & { _id: string };

/** Root-cause reports, one per deployment (keyed by its id); a new analysis replaces the old. */
export class AnalysisReportRepository {
  private readonly collection: Collection<AnalysisReportDocument>;

  constructor(db: Db) {
    this.collection = db.collection<AnalysisReportDocument>('analysis_reports');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ app_id: 1, createdTime: -1 }, { name: 'app_time' });
  }

  async save(report: AnalysisReport): Promise<void> {
    await this.collection.replaceOne({ _id: report.deployment_id }, report, { upsert: true });
  }

  async findByDeployment(deploymentId: string): Promise<AnalysisReport | undefined> {
    const doc = await this.collection.findOne({ _id: deploymentId });
    if (doc === null) return undefined;
    const { _id, ...report } = doc;
    return report;
  }

  /** Newest first. */
  async listByApp(appId: string, limit = 20): Promise<AnalysisReport[]> {
    const docs = await this.collection
      .find({ app_id: appId })
      .sort({ createdTime: -1 })
      .limit(limit)
      .toArray();
    return docs.map(({ _id, ...report }) => report);
  }
}
