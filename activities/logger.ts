import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout, one logger per process, named by its component. */
export function createLogger(component: string, level: LevelWithSilent = 'info'): Logger {
  return pino({
    name: 'relguard',
    level,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['*.password', '*.token', '*.secret', '*.apiKey', '*.authorization'],
      censor: '[redacted]',
    },
  });
}
