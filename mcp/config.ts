import { z } from 'zod';
import { prometheusOptions, type PrometheusOptions } from '../activities/metrics';
import { checkPrometheusAuth, configSchema, parseEnvironment } from '../domain/config';

/** The shortest MCP_TOKEN accepted: a guessable token would be no lock at all. */
export const MIN_MCP_TOKEN_LENGTH = 32;

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
    /**
     * The bearer token every request to the HTTP transport must carry; required to serve HTTP
     * (stdio serves the process that spawned it and needs none). Never logged.
     */
    MCP_TOKEN: z
      .string()
      .min(
        MIN_MCP_TOKEN_LENGTH,
        `must be at least ${MIN_MCP_TOKEN_LENGTH} characters (openssl rand -hex 32 makes one)`,
      )
      .optional(),
  });

export type McpConfig = z.infer<typeof mcpConfigSchema>;
export type McpConfigVariable = keyof McpConfig;
export const mcpConfigVariables = Object.keys(mcpConfigSchema.shape) as McpConfigVariable[];

/**
 * Validates the environment; throws a ConfigError that names every bad variable. Serving
 * HTTP (`transport: 'http'`) needs MCP_TOKEN, whatever MCP_HOST is: on loopback too, any local
 * user or a browser page could otherwise ask Prometheus what it likes through the server.
 */
export function loadMcpConfig(
  env: Record<string, string | undefined>,
  options: { transport?: 'http' | 'stdio' } = {},
): McpConfig {
  return parseEnvironment(
    mcpConfigSchema.superRefine(checkPrometheusAuth).superRefine((config, ctx) => {
      if (options.transport === 'http' && config.MCP_TOKEN === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['MCP_TOKEN'],
          message: `required to serve HTTP (on ${config.MCP_HOST}:${config.MCP_PORT}): every request must carry it as a bearer token; set it to a secret of at least ${MIN_MCP_TOKEN_LENGTH} characters (openssl rand -hex 32), or serve one client with --stdio`,
        });
      }
    }),
    mcpConfigVariables,
    env,
  );
}

/** What the server's PrometheusClient needs from the configuration. */
export function mcpPrometheusOptions(config: McpConfig): PrometheusOptions {
  return prometheusOptions(config, config.MCP_QUERY_TIMEOUT_MS);
}
