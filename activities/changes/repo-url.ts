/** Where a repository lives, read from the `repo` of an application. */

export interface GitHubRepo {
  /** The web host, lower case, without a port: github.com or an Enterprise host. */
  host: string;
  owner: string;
  name: string;
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** git's scp-like form, `[user@]host:path`: a colon before any slash, as git itself reads it. */
const SCP_LIKE = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)(.+)$/;
const NAME_PART = /^[\w.-]+$/;

/** Whether git reaches `repo` over a transport (a URL or scp-like), not as a local path. */
export function isGitUrl(repo: string): boolean {
  return URL_SCHEME.test(repo) || SCP_LIKE.test(repo);
}

/**
 * The owner/name of a repository URL in any form GitHub gives out: https (with or without
 * .git, credentials or a trailing path), `ssh://git@host[:port]/owner/name.git`,
 * `git@host:owner/name.git`, `git://`, `git+https://`. Undefined for a local path.
 */
export function parseGitHubRepo(repo: string): GitHubRepo | undefined {
  let host: string;
  let repoPath: string;
  if (URL_SCHEME.test(repo)) {
    let url: URL;
    try {
      url = new URL(repo);
    } catch {
      return undefined;
    }
    if (url.protocol === 'file:') return undefined;
    host = url.hostname;
    repoPath = url.pathname;
  } else {
    const match = SCP_LIKE.exec(repo);
    if (match?.[1] === undefined || match[2] === undefined) return undefined;
    host = match[1];
    repoPath = match[2];
  }
  const [owner, rawName] = repoPath.split('/').filter((part) => part !== '');
  if (owner === undefined || rawName === undefined || host === '') return undefined;
  const name = rawName.replace(/\.git$/i, '');
  if (!NAME_PART.test(owner) || !NAME_PART.test(name) || name === '.' || name === '..') {
    return undefined;
  }
  return { host: host.toLowerCase(), owner, name };
}

/**
 * The web hosts whose repositories the API at `apiUrl` serves: github.com for
 * api.github.com, the Enterprise host itself for `https://<host>/api/v3`. A token belongs to
 * one of the two, so a github.com repository is not read through an Enterprise API.
 */
export function gitHubHosts(apiUrl: string): string[] {
  const apiHost = new URL(apiUrl).hostname.toLowerCase();
  if (apiHost === 'api.github.com') return ['github.com', 'www.github.com'];
  // GitHub Enterprise Cloud with data residency serves api.<sub>.ghe.com for <sub>.ghe.com.
  return apiHost.startsWith('api.') ? [apiHost, apiHost.slice('api.'.length)] : [apiHost];
}

/** The repository when it is on one of `hosts`; undefined for any other host or a path. */
export function gitHubRepoOn(repo: string, hosts: readonly string[]): GitHubRepo | undefined {
  const parsed = parseGitHubRepo(repo);
  return parsed !== undefined && hosts.includes(parsed.host) ? parsed : undefined;
}

/** Credentials in a repository URL stay out of messages, notes and logs. */
export function redactCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}
