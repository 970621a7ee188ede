import {
  pino,
  type DestinationStream,
  type Logger,
  type LevelWithSilent,
  type LoggerOptions,
} from 'pino';

export type { Logger };

/**
 * Structured JSON logs, one logger per process, named by its component: on stdout, or on
 * `destination` (the MCP server's stdio mode keeps stdout for the protocol).
 */
export function createLogger(
  component: string,
  level: LevelWithSilent = 'info',
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = {
    name: 'relguard',
    level,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['*.password', '*.token', '*.secret', '*.apiKey', '*.authorization'],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
