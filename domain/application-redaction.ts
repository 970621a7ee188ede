import type { Application, ApplicationInput, ApplicationUpdate, Machine } from './application';
import type { Role } from './auth';

/**
 * What the api shows of an application's secrets (issue 15). One convention for every
 * response that carries an application:
 *
 * - a redacted value is replaced by the mask `***`: the whole value of a field, or, in a
 *   repository URL, only its credentials (`https://***@github.com/acme/shop.git`);
 * - `redacted` lists the path of every value so masked (`repo`, `start_cmd`,
 *   `machines.0.ssh.key_path`), so that a client knows a value is set without seeing it;
 * - secrets are masked for every role, admin included: the credentials in `repo`;
 * - what only an operator needs is masked below admin (viewer and deployer): the commands
 *   (`start_cmd`, `stop_cmd`, `build_cmd`, which may carry inline secrets) and each machine's
 *   SSH `key_path`;
 * - a PUT (or a POST) that sends a masked value back keeps the stored value
 *   (`restoreRedacted`); a mask that matches no stored value is refused (`maskedValueIssues`).
 *
 * Notification channels' URLs and signing secrets are not in an application (its policy names
 * channels; NOTIFY_CHANNELS holds them), and the api never returns them.
 */
export const REDACTION_MASK = '***';

/** The fields masked below admin: commands and key paths. */
const operatorFields = ['start_cmd', 'stop_cmd', 'build_cmd'] as const;

/** userinfo (`user:password@`, `token@`) of a URL with a scheme. */
const urlCredentials = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi;
const maskedCredentials = /\b[a-z][a-z0-9+.-]*:\/\/\*\*\*@/i;

/** `repo` with the credentials of any URL in it replaced by `***`. */
export function redactRepo(repo: string): string {
  return repo.replace(urlCredentials, `$1${REDACTION_MASK}@`);
}

export type RedactedApplication = Application & { redacted?: string[] };

const seesOperatorFields = (role: Role) => role === 'admin';

/** The application as `role` may see it (see the convention above). */
export function redactApplication(app: Application, role: Role): RedactedApplication {
  const redacted: string[] = [];
  const view: Application = { ...app };
  const repo = redactRepo(app.repo);
  if (repo !== app.repo) {
    view.repo = repo;
    redacted.push('repo');
  }
  if (!seesOperatorFields(role)) {
    for (const field of operatorFields) {
      const value = app[field];
      if (value !== undefined && value !== '') {
        view[field] = REDACTION_MASK;
        redacted.push(field);
      }
    }
    view.machines = app.machines.map((machine, index): Machine => {
      if (machine.ssh === undefined) return machine;
      redacted.push(`machines.${index}.ssh.key_path`);
      return { ...machine, ssh: { ...machine.ssh, key_path: REDACTION_MASK } };
    });
  }
  return redacted.length === 0 ? view : { ...view, redacted };
}

type Writable = Partial<
  Pick<ApplicationInput, 'repo' | 'machines' | (typeof operatorFields)[number]>
>;

/**
 * An update (or a whole input) with each masked value it carries back replaced by the stored
 * value it stands for: a client that round-trips what GET gave it never overwrites a secret
 * with the mask. A machine's key path is matched by the machine's id.
 */
export function restoreRedacted<T extends Writable | ApplicationUpdate>(
  input: T,
  stored: Application,
): T {
  const restored: T = { ...input };
  if (
    restored.repo !== undefined &&
    restored.repo !== stored.repo &&
    restored.repo === redactRepo(stored.repo)
  ) {
    restored.repo = stored.repo;
  }
  for (const field of operatorFields) {
    const value = stored[field];
    if (restored[field] === REDACTION_MASK && value !== undefined && value !== '') {
      restored[field] = value;
    }
  }
  if (restored.machines !== undefined) {
    const storedKeys = new Map(stored.machines.map((m) => [m.id, m.ssh?.key_path]));
    restored.machines = restored.machines.map((machine) => {
      const keyPath = storedKeys.get(machine.id);
      if (machine.ssh?.key_path !== REDACTION_MASK || keyPath === undefined) return machine;
      return { ...machine, ssh: { ...machine.ssh, key_path: keyPath } };
    });
  }
  return restored;
}

/**
 * The masks left in an input once `restoreRedacted` has put back what it could: each is a
 * value nobody can mean (a command `***`, a repository whose credentials are `***`), so it is
 * refused, naming the field, rather than stored.
 */
export function maskedValueIssues(
  input: Writable,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (input.repo !== undefined && maskedCredentials.test(input.repo)) {
    issues.push({
      path: ['repo'],
      message:
        'the credentials in this URL are the redaction mask *** and the rest of the URL is not the stored one: give the credentials again (or none)',
    });
  }
  for (const field of operatorFields) {
    if (input[field] === REDACTION_MASK) {
      issues.push({
        path: [field],
        message: `*** is the redaction mask, not a command, and there is no stored ${field} it stands for`,
      });
    }
  }
  (input.machines ?? []).forEach((machine, index) => {
    if (machine.ssh?.key_path === REDACTION_MASK) {
      issues.push({
        path: ['machines', index, 'ssh', 'key_path'],
        message: `*** is the redaction mask, not a key path, and machine ${machine.id} has no stored key path it stands for`,
      });
    }
  });
  return issues;
}
