import { RULE_SLUGS } from './rules';

/** The Metadata key that `tablesafe check`, the checkov checks and the Python `suppress()` read. */
export const METADATA_KEY = 'tablesafe';
const MIN_REASON_LENGTH = 10;
const TABLE_TYPES: ReadonlySet<string> = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);

interface SuppressionEntry {
  id: string;
  reason: string;
  expires?: string;
}

/**
 * A construct as suppress() reads it: a Table, TableV2, CfnTable or CfnGlobalTable of the
 * app. Declared here rather than as constructs' IConstruct, whose Node class TypeScript
 * compares by declaration: after a path install it resolves the package's development copy
 * of constructs, and the app's tables would not type-check against it.
 */
export interface TableConstruct {
  readonly node: { readonly path: string; readonly defaultChild?: unknown };
}

/**
 * What suppress() uses of a CfnTable or CfnGlobalTable. Recognized by its shape, never by
 * `instanceof`: this package loads no aws-cdk-lib of its own, so the app's copy is the one
 * used whatever the install route (a path install would otherwise load the package's
 * development copy, and no table of the app would be an instance of its classes).
 */
interface TableResource extends TableConstruct {
  readonly cfnResourceType: string;
  getMetadata(key: string): unknown;
  addMetadata(key: string, value: unknown): void;
}

/**
 * Suppress one rule (id like "TS003" or slug) on one table, with a reason and an optional
 * expiry (`YYYY-MM-DD`), in the table's CloudFormation Metadata:
 * `{"tablesafe": {"suppress": [{"id", "reason", "expires"}]}}`, exactly what the Python
 * helper writes, so `tablesafe check`, the validator and checkov honour it.
 *
 * Throws for an unknown rule, a reason shorter than 10 characters or a bad date, so a
 * waiver that would be ignored is refused when it is written. Suppressing the same rule
 * again replaces the earlier entry; entries for other rules are kept.
 */
export function suppress(construct: TableConstruct, rule: string, reason: string, expires?: string): void {
  const ruleId = findRule(rule);
  if (ruleId === undefined) {
    throw new Error(`'${rule}' is not a tablesafe rule id or slug`);
  }
  if (typeof reason !== 'string' || reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(`suppress(${ruleId}): a reason of at least ${MIN_REASON_LENGTH} characters is required`);
  }
  if (expires !== undefined && !isDate(expires.trim())) {
    throw new Error(`suppress(${ruleId}): expires must be a date like 2027-01-31, not '${expires}'`);
  }
  const cfn = tableResource(construct);
  const existing: unknown = cfn.getMetadata(METADATA_KEY) ?? {};
  const entries = (existing as { suppress?: unknown }).suppress ?? [];
  if (typeof existing !== 'object' || existing === null || Array.isArray(existing) || !Array.isArray(entries)) {
    throw new Error(`${cfn.node.path}: Metadata.${METADATA_KEY} exists but is not {suppress: [...]}`);
  }
  const entry: SuppressionEntry = { id: ruleId, reason: reason.trim() };
  if (expires !== undefined) entry.expires = expires.trim();
  const kept = entries.filter((e: unknown) => !(typeof e === 'object' && e !== null && (e as SuppressionEntry).id === ruleId));
  cfn.addMetadata(METADATA_KEY, { ...existing, suppress: [...kept, entry] });
}

function findRule(rule: string): string | undefined {
  const wanted = rule.trim();
  return Object.keys(RULE_SLUGS).find((id) => id === wanted.toUpperCase() || RULE_SLUGS[id] === wanted.toLowerCase());
}

function isDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().startsWith(text);
}

function isTableResource(candidate: unknown): candidate is TableResource {
  if (typeof candidate !== 'object' || candidate === null) return false;
  const resource = candidate as Partial<TableResource>;
  return (
    TABLE_TYPES.has(String(resource.cfnResourceType)) &&
    typeof resource.getMetadata === 'function' &&
    typeof resource.addMetadata === 'function'
  );
}

/** The CfnTable / CfnGlobalTable of a table construct (an L2 or the L1 itself). */
function tableResource(construct: TableConstruct): TableResource {
  if (isTableResource(construct)) {
    return construct;
  }
  const child = construct.node.defaultChild;
  if (isTableResource(child)) {
    return child;
  }
  throw new Error(
    `${construct.node.path} is not a DynamoDB table: pass a Table, TableV2, CfnTable or CfnGlobalTable`,
  );
}
