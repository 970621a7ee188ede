import OpenAI from 'openai';
import type { Config } from '../../domain/config';
import { connectPrometheusMcp } from '../../mcp/client';
import type { Logger } from '../logger';
import { prometheusAuth, type PrometheusClient } from '../metrics';
import { HeuristicAnalyzer } from './heuristic';
import { LlmAnalyzer } from './llm';
import type { Analyzer } from './types';

export type { Analyzer, AnalysisContext, AnalyzerResult, FiringAlert } from './types';
export { HeuristicAnalyzer } from './heuristic';
export { LlmAnalyzer } from './llm';

/**
 * The analyzers in the order they are tried: the LLM when OPENAI_MODEL is set, with the
 * Prometheus MCP server as its tools, then the heuristic, which needs nothing but Prometheus
 * and is always there to fall back on.
 */
export function createAnalyzers(
  config: Pick<
    Config,
    | 'OPENAI_BASE_URL'
    | 'OPENAI_API_KEY'
    | 'OPENAI_MODEL'
    | 'ANALYSIS_MAX_TOOL_CALLS'
    | 'ANALYSIS_MAX_TOKENS'
    | 'ANALYSIS_TIMEOUT_SECONDS'
    | 'ANALYSIS_REQUEST_TIMEOUT_SECONDS'
    | 'PROMETHEUS_TIMEOUT_SECONDS'
    | 'PROMETHEUS_URL'
    | 'PROMETHEUS_BEARER_TOKEN'
    | 'PROMETHEUS_USERNAME'
    | 'PROMETHEUS_PASSWORD'
  >,
  deps: { prometheus: PrometheusClient; logger: Logger },
): Analyzer[] {
  const heuristic = new HeuristicAnalyzer(deps.prometheus);
  if (config.OPENAI_MODEL === undefined) return [heuristic];
  const auth = prometheusAuth(config);
  const llm = new LlmAnalyzer({
    client: new OpenAI({
      baseURL: config.OPENAI_BASE_URL,
      // Local OpenAI-compatible servers often take no key; the client insists on one.
      apiKey: config.OPENAI_API_KEY ?? 'none',
      maxRetries: 2,
      timeout: config.ANALYSIS_REQUEST_TIMEOUT_SECONDS * 1000,
    }),
    model: config.OPENAI_MODEL,
    connectTools: () =>
      connectPrometheusMcp({
        prometheusUrl: config.PROMETHEUS_URL,
        timeoutMs: config.PROMETHEUS_TIMEOUT_SECONDS * 1000,
        ...(auth === undefined ? {} : { auth }),
      }),
    limits: {
      maxToolCalls: config.ANALYSIS_MAX_TOOL_CALLS,
      maxTokens: config.ANALYSIS_MAX_TOKENS,
      timeoutMs: config.ANALYSIS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: config.ANALYSIS_REQUEST_TIMEOUT_SECONDS * 1000,
    },
    logger: deps.logger,
  });
  return [llm, heuristic];
}
