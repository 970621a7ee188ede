import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes on release workflows, so the Temporal UI can filter by them.
 * The server must know them: temporal-dev.sh and the test harness register each name.
 */
export const appSearchAttribute = defineSearchAttributeKey(
  'RelguardApp',
  SearchAttributeType.KEYWORD,
);
export const versionSearchAttribute = defineSearchAttributeKey(
  'RelguardVersion',
  SearchAttributeType.KEYWORD,
);
export const statusSearchAttribute = defineSearchAttributeKey(
  'RelguardStatus',
  SearchAttributeType.KEYWORD,
);

export const relguardSearchAttributes = [
  appSearchAttribute,
  versionSearchAttribute,
  statusSearchAttribute,
] as const;
