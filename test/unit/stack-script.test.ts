import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { relguardSearchAttributes } from '../../domain';
import { projectRoot } from '../support/tools';

describe('temporal-dev.sh', () => {
  const script = readFileSync(path.join(projectRoot, 'temporal-dev.sh'), 'utf8');

  it('registers exactly the search attributes the workflows use', () => {
    const registered = /SEARCH_ATTRIBUTES=\(([^)]*)\)/.exec(script)?.[1]?.trim().split(/\s+/);
    expect(registered).toEqual(
      relguardSearchAttributes.map((attribute) => `${attribute.name}=Keyword`),
    );
  });

  it('is what .ci/run calls', () => {
    const ci = readFileSync(path.join(projectRoot, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/\.\/temporal-dev\.sh test/);
  });
});
