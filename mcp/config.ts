import { z } from 'zod';
import { prometheusOptions, type PrometheusOptions } from '../activities/metrics';
import { checkPrometheusAuth, configSchema, parseEnvironment } from '../domain/config';

/**
 * The Prometheus MCP server's configuration. The Prometheus variables and LOG_LEVEL are
 * domain/config.ts's own definitions (the worker reads the same ones); MCP_* are the server's.
 * README.md and .env.example list them all; test/mcp/config.test.ts keeps them in step.
 */
export const mcpConfigSchema = configSchema
  .pick({
    PROMETHEUS_URL: true,
    PROMETHEUS_BEARER_TOKEN: true,
    PROMETHEUS_USERNAME: true,
    PROMETHEUS_PASSWORD: true,
    LOG_LEVEL: true,
  })
  .extend({
    MCP_HOST: z.string().min(1).default('127.0.0.1'),
    MCP_PORT: z.coerce.number().int().min(1).max(65535).default(8811),
    MCP_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  });

export type McpConfig = z.infer<typeof mcpConfigSchema>;
export type McpConfigVariable = keyof McpConfig;
export const mcpConfigVariables = Object.keys(mcpConfigSchema.shape) as McpConfigVariable[];

/** Validates the environment; throws a ConfigError that names every bad variable. */
export function loadMcpConfig(env: Record<string, string | undefined>): McpConfig {
  return parseEnvironment(
    mcpConfigSchema.superRefine(checkPrometheusAuth),
    mcpConfigVariables,
    env,
  );
}

/** What the server's PrometheusClient needs from the configuration. */
export function mcpPrometheusOptions(config: McpConfig): PrometheusOptions {
  return prometheusOptions(config, config.MCP_QUERY_TIMEOUT_MS);
}
