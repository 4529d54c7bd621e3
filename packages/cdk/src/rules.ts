/** Rule id -> slug, as `tablesafe rules --format json` lists them (a test compares the two). */
export const RULE_SLUGS: Readonly<Record<string, string>> = {
  TS001: 'pitr-missing',
  TS002: 'pitr-deprecated-prop',
  TS003: 'deletion-protection-missing',
  TS004: 'removal-policy-not-retain',
  TS005: 'table-v2-swap',
  TS006: 'table-replacement',
  TS007: 'pitr-recovery-period-short',
  TS008: 'recreation-unproven',
};
