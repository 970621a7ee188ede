import { describe, expect, it } from 'vitest';
import {
  gitHubHosts,
  gitHubRepoOn,
  isGitUrl,
  parseGitHubRepo,
  redactCredentials,
} from '../../activities/changes/repo-url';

describe('parseGitHubRepo', () => {
  const shop = { host: 'github.com', owner: 'acme', name: 'shop' };
  const enterprise = { host: 'ghe.example.com', owner: 'acme', name: 'shop' };

  it.each<[string, ReturnType<typeof parseGitHubRepo>]>([
    ['https://github.com/acme/shop', shop],
    ['https://github.com/acme/shop.git', shop],
    ['https://github.com/acme/shop/', shop],
    ['https://GitHub.com/acme/shop.git', shop],
    ['https://github.com/acme/shop/pull/12', shop],
    ['https://x-access-token:secret@github.com/acme/shop.git', shop],
    ['http://github.com/acme/shop', shop],
    ['git://github.com/acme/shop.git', shop],
    ['git+https://github.com/acme/shop.git', shop],
    ['ssh://git@github.com/acme/shop.git', shop],
    ['ssh://git@github.com:22/acme/shop', shop],
    ['git@github.com:acme/shop.git', shop],
    ['git@github.com:acme/shop', shop],
    ['github.com:acme/shop.git', shop],
    ['https://ghe.example.com/acme/shop.git', enterprise],
    ['git@ghe.example.com:acme/shop.git', enterprise],
    ['https://github.com/acme/my.service.git', { ...shop, name: 'my.service' }],
    ['/srv/repos/shop', undefined],
    ['./shop', undefined],
    ['file:///srv/repos/shop', undefined],
    ['https://github.com/acme', undefined],
    ['https://github.com/acme/..', undefined],
    ['not a url at all', undefined],
  ])('%s', (repo, expected) => {
    expect(parseGitHubRepo(repo)).toEqual(expected);
  });
});

describe('gitHubHosts', () => {
  it.each<[string, string[]]>([
    ['https://api.github.com', ['github.com', 'www.github.com']],
    ['https://api.github.com/', ['github.com', 'www.github.com']],
    ['https://ghe.example.com/api/v3', ['ghe.example.com']],
    ['http://127.0.0.1:8080/api/v3', ['127.0.0.1']],
    ['https://api.acme.ghe.com', ['api.acme.ghe.com', 'acme.ghe.com']],
  ])('%s serves %j', (apiUrl, hosts) => {
    expect(gitHubHosts(apiUrl)).toEqual(hosts);
  });

  it('matches a repository only on the hosts its API serves', () => {
    const enterprise = gitHubHosts('https://ghe.example.com/api/v3');
    expect(gitHubRepoOn('git@ghe.example.com:acme/shop.git', enterprise)?.owner).toBe('acme');
    expect(gitHubRepoOn('https://github.com/acme/shop.git', enterprise)).toBeUndefined();
    expect(gitHubRepoOn('/srv/repos/shop', enterprise)).toBeUndefined();
  });
});

describe('isGitUrl', () => {
  it.each<[string, boolean]>([
    ['https://github.com/acme/shop.git', true],
    ['file:///srv/repos/shop', true],
    ['git@github.com:acme/shop.git', true],
    ['ssh://git@host/acme/shop', true],
    ['/srv/repos/shop', false],
    ['repos/shop', false],
    ['./shop', false],
  ])('%s: %s', (repo, expected) => {
    expect(isGitUrl(repo)).toBe(expected);
  });
});

describe('redactCredentials', () => {
  it('hides what is before the @ of a URL', () => {
    expect(redactCredentials('https://user:hunter2@github.com/acme/shop.git')).toBe(
      'https://***@github.com/acme/shop.git',
    );
    expect(redactCredentials('git@github.com:acme/shop.git')).toBe('git@github.com:acme/shop.git');
  });
});
